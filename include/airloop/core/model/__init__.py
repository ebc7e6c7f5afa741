"""Model plane: the MLflow registry, training, the challenger decision, promotion and its ledger,
scoring, and the train DAG's steps (``retraining``)."""
