"""Every use of aioquic's private attributes lives here (spec: "three private attributes in one module").

aioquic 1.7.2 (pinned exactly in pyproject.toml) has no public API to
  1. make a server request a client certificate (`tls.Context._request_client_certificate`, set from the
     connection's `_initialize`, where the TLS context is created),
  2. read the peer's certificate (`tls.Context._peer_certificate` / `_peer_certificate_chain`),
  3. raise the incoming bidirectional stream limit from its hard-coded 128 (`_local_max_streams_bidi`).
`check_private_api()` runs at start-up and fails with a clear message if an upgrade renamed any of them.
"""

from __future__ import annotations

import aioquic
from aioquic import tls
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from cryptography import x509

PINNED_AIOQUIC_VERSION = "1.7.2"
AIOQUIC_VERSION: str = aioquic.__version__


class AioquicPrivateApiError(RuntimeError):
    """The installed aioquic lacks a private attribute the transport relies on (start-up check)."""


def check_private_api() -> None:
    """Raise AioquicPrivateApiError unless the installed aioquic has every private attribute used here."""
    problems: list[str] = []
    if not callable(getattr(QuicConnection, "_initialize", None)):
        problems.append("QuicConnection._initialize")
    context = tls.Context(is_client=False)
    for name in ("_request_client_certificate", "_peer_certificate", "_peer_certificate_chain"):
        if not hasattr(context, name):
            problems.append(f"tls.Context.{name}")
    probe = QuicConnection(
        configuration=QuicConfiguration(is_client=True), original_destination_connection_id=None
    )
    limit = getattr(probe, "_local_max_streams_bidi", None)
    if limit is None or not hasattr(limit, "value") or not hasattr(limit, "sent"):
        problems.append("QuicConnection._local_max_streams_bidi.value/.sent")
    if problems:
        raise AioquicPrivateApiError(
            f"aioquic {AIOQUIC_VERSION} lacks {', '.join(problems)}; the transport is built for aioquic "
            f"{PINNED_AIOQUIC_VERSION} (pinned in pyproject.toml)"
        )


class TrackerQuicConnection(QuicConnection):
    """A QuicConnection whose incoming bidi stream limit is `max_incoming_streams` and which, as a server,
    asks the client for a certificate (mutual TLS). aioquic never chain-checks a client certificate and
    completes the handshake when the client sends none: the caller checks `peer_certificates()`."""

    def __init__(
        self,
        *,
        configuration: QuicConfiguration,
        max_incoming_streams: int,
        original_destination_connection_id: bytes | None = None,
    ) -> None:
        super().__init__(
            configuration=configuration,
            original_destination_connection_id=original_destination_connection_id,
        )
        self._local_max_streams_bidi.value = max_incoming_streams
        self._local_max_streams_bidi.sent = max_incoming_streams

    def _initialize(self, peer_cid: bytes) -> None:
        super()._initialize(peer_cid)
        if not self._is_client:
            self.tls._request_client_certificate = True


def peer_certificates(connection: QuicConnection) -> list[x509.Certificate]:
    """The certificates the peer presented (leaf first); empty when it sent none."""
    context = getattr(connection, "tls", None)
    if context is None or context._peer_certificate is None:
        return []
    return [context._peer_certificate, *context._peer_certificate_chain]
