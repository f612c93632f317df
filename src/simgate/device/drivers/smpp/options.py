"""The `--smpp-...` options of `simgate device run`, and the driver built from them.

Importing this module needs only click: smpplib (the PDU codec, LGPL) is the
`smpp` extra, loaded when the smpp driver is chosen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from simgate.device.drivers.smpp.driver import SmppDriver

INSTALL_HINT = "the smpp driver needs smpplib: pip install 'simgate[smpp]'"


def smpp_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the smpp driver's options to a click command (docs/smpp.md)."""
    options = [
        click.option(
            "--smpp-host", default=None,
            help="[smpp] The SMSC's host name or address.",
        ),
        click.option(
            "--smpp-port", type=click.IntRange(1, 65535), default=2775, show_default=True,
            help="[smpp] The SMSC's port (SMPP over TLS is often 3550: ask the provider).",
        ),
        click.option(
            "--smpp-system-id", default=None,
            help="[smpp] The account's system_id (at most 15 characters).",
        ),
        click.option(
            "--smpp-password", default="", envvar="SIMGATE_SMPP_PASSWORD",
            help="[smpp] The account's password, at most 8 characters "
            "[env SIMGATE_SMPP_PASSWORD].",
        ),
        click.option(
            "--smpp-system-type", default="", show_default=True,
            help="[smpp] system_type, when the provider asks for one.",
        ),
        click.option(
            "--smpp-source-addr", default=None,
            help="[smpp] The sender: a name (at most 11 characters) or a number "
            "[default: none, the SMSC's choice].",
        ),
        click.option(
            "--smpp-source-ton", type=click.IntRange(0, 6), default=None,
            help="[smpp] The sender's TON [default: 5 for a name, 1 for a number].",
        ),
        click.option(
            "--smpp-source-npi", type=click.IntRange(0, 18), default=None,
            help="[smpp] The sender's NPI [default: 0 for a name, 1 for a number].",
        ),
        click.option(
            "--smpp-bind", type=click.Choice(["trx", "tx+rx"]), default="trx", show_default=True,
            help="[smpp] One transceiver bind, or a transmitter and a receiver.",
        ),
        click.option(
            "--smpp-window", type=click.IntRange(1, 1000), default=10, show_default=True,
            help="[smpp] submit_sm sent and not yet answered, at most.",
        ),
        click.option(
            "--smpp-tps", type=click.FloatRange(min=0, min_open=True), default=None,
            help="[smpp] submit_sm per second, at most [default: no limit].",
        ),
        click.option(
            "--smpp-tls/--smpp-no-tls", default=False, show_default=True,
            help="[smpp] Speak TLS to the SMSC.",
        ),
        click.option(
            "--smpp-tls-verify/--smpp-no-tls-verify", default=True, show_default=True,
            help="[smpp] Check the SMSC's certificate (with --smpp-tls).",
        ),
        click.option(
            "--smpp-tls-ca-file", type=click.Path(dir_okay=False, exists=True), default=None,
            help="[smpp] The provider's own CA certificate (PEM), instead of the system's.",
        ),
        click.option(
            "--smpp-concat", type=click.Choice(["udh8", "udh16", "sar", "payload"]),
            default="udh8", show_default=True,
            help="[smpp] How long messages are split: UDH with an 8- or 16-bit reference, "
            "SAR TLVs, or one message_payload.",
        ),
        click.option(
            "--smpp-dc0", type=click.Choice(["gsm7", "latin1", "ascii"]), default="gsm7",
            show_default=True,
            help="[smpp] What the SMSC takes data_coding 0 to mean.",
        ),
        click.option(
            "--smpp-validity", type=click.Choice(["absolute", "relative", "none"]),
            default="absolute", show_default=True,
            help="[smpp] How a message's validity is passed on in validity_period.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def check(**values: Any) -> None:
    """click.UsageError when the `smpp_*` values cannot make a link,
    RuntimeError(INSTALL_HINT) when smpplib is missing."""
    if not values.get("smpp_host"):
        raise click.UsageError("--driver smpp needs --smpp-host")
    if not values.get("smpp_system_id"):
        raise click.UsageError("--driver smpp needs --smpp-system-id")
    if len(values["smpp_system_id"]) > 15:
        raise click.UsageError("--smpp-system-id: at most 15 characters (smpp.md §1)")
    if len(values.get("smpp_password") or "") > 8:
        raise click.UsageError("--smpp-password: at most 8 characters (smpp.md §1)")
    if len(values.get("smpp_system_type") or "") > 12:
        raise click.UsageError("--smpp-system-type: at most 12 characters (smpp.md §1)")
    source = values.get("smpp_source_addr")
    if source:
        from simgate.smpp import addresses

        try:
            addresses.source(
                source, ton=values.get("smpp_source_ton"), npi=values.get("smpp_source_npi")
            )
        except ValueError as exc:
            raise click.UsageError(f"--smpp-source-addr: {exc}") from None
    try:
        import smpplib  # noqa: F401
    except ImportError:
        raise RuntimeError(INSTALL_HINT) from None


def build_driver(folder: Path, fsync: bool, **values: Any) -> SmppDriver:
    """The driver from the `smpp_*` option values (see `check`)."""
    check(**values)
    from simgate.device.drivers.smpp.driver import SmppDriver, SmppOptions
    from simgate.smpp.session import LinkConfig

    link = LinkConfig(
        host=values["smpp_host"],
        port=values.get("smpp_port", 2775),
        system_id=values["smpp_system_id"],
        password=values.get("smpp_password") or "",
        system_type=values.get("smpp_system_type") or "",
        bind=values.get("smpp_bind", "trx"),
        window=values.get("smpp_window", 10),
        tps=values.get("smpp_tps"),
        tls=values.get("smpp_tls", False),
        tls_verify=values.get("smpp_tls_verify", True),
        tls_ca_file=values.get("smpp_tls_ca_file"),
    )
    options = SmppOptions(
        source_addr=values.get("smpp_source_addr"),
        source_ton=values.get("smpp_source_ton"),
        source_npi=values.get("smpp_source_npi"),
        concat=values.get("smpp_concat", "udh8"),
        dc0=values.get("smpp_dc0", "gsm7"),
        validity=values.get("smpp_validity", "absolute"),
    )
    return SmppDriver(link, folder, options, fsync=fsync)
