"""FlinkTLS: FlinkInternalTLS for any Pulumi language, for a FlinkDeployment the program writes itself."""

import pulumi

from secure_flink.components.flink_internal_tls import FlinkInternalTLS, FlinkInternalTLSArgs
from secure_flink.domain.flink_conf import RestAuthentication
from secure_flink.domain.problems import ConfigError, Problem
from secure_flink.package.arguments import TLS_KEYS, TlsArguments, as_argument, resolved_map, stack_config
from secure_flink.settings.defaults import DEFAULTS
from secure_flink.settings.model import TlsSettings
from secure_flink.settings.reader import Reader
from secure_flink.settings.tls import read_tls

TYPE = "secureflink:index:FlinkTLS"


# `X | None`, not NotRequired: what the SDK's schema inference reads as optional.
class FlinkTLSArgs(TlsArguments, total=False):
    """One FlinkDeployment's TLS: its name and namespace, the stack config's TLS keys (TlsArguments), and who may
    call its REST API. Plain values but for the certificates, which may be outputs of other resources: everything
    else is validated before the component registers anything."""

    deployment_name: str
    """The FlinkDeployment's name (its cluster id): it fixes the REST Service's DNS names."""
    namespace: str
    rest_authentication: str | None
    """`mtls` (the default): Flink requires a client certificate on REST; `tls`: REST is encrypted only."""
    rest_client_identities: list[str] | None
    """Callers this component issues a REST client certificate for (under `mtls`)."""
    rest_caller_ca_certificates: list[pulumi.Input[str]] | None
    """CAs (PEM) that sign only REST callers, e.g. the Flink operator's client CA: REST mTLS admits them."""
    rest_allowed_certificates: list[pulumi.Input[str]] | None
    """Client certificates (PEM) REST mTLS admits one by one."""


class FlinkTLS(pulumi.ComponentResource):
    """Internal mTLS and REST TLS for one FlinkDeployment: keys, certificates, PKCS#12 stores with random
    passwords in Secrets, and the flinkConfiguration and secret mounts that use them. One FlinkInternalTLS."""

    flink_configuration: pulumi.Output[dict[str, str]]
    """The flinkConfiguration entries for internal and REST SSL (secret: they hold the store passwords)."""
    secret_mounts: pulumi.Output[dict[str, str]]
    """Secret name -> mount path in the Flink pods (the operator's `kubernetes.secrets`)."""
    rest_ca_certificate: pulumi.Output[str]
    """The CA of the REST certificate: what REST clients trust."""
    rest_client_certificates: pulumi.Output[dict[str, str]]
    """Identity -> its REST client certificate (PEM)."""
    rest_client_private_keys: pulumi.Output[dict[str, str]]
    """Identity -> the key of that certificate (PEM, secret)."""

    def __init__(self, name: str, args: FlinkTLSArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        tls_args = internal_tls_args(args)
        super().__init__(TYPE, name, None, opts)
        tls = FlinkInternalTLS(f"{name}-tls", tls_args, pulumi.ResourceOptions(parent=self))
        identities = tls.rest_client_identities
        self.flink_configuration = tls.flink_configuration
        self.secret_mounts = tls.secret_mounts
        self.rest_ca_certificate = tls.rest_ca_pem
        self.rest_client_certificates = resolved_map({caller: cert for caller, (cert, _) in identities.items()})
        self.rest_client_private_keys = pulumi.Output.secret(
            resolved_map({caller: key for caller, (_, key) in identities.items()})
        )
        self.register_outputs(
            {
                "flinkConfiguration": self.flink_configuration,
                "secretMounts": self.secret_mounts,
                "restCaCertificate": self.rest_ca_certificate,
                "restClientCertificates": self.rest_client_certificates,
                "restClientPrivateKeys": self.rest_client_private_keys,
            }
        )


def internal_tls_args(args: FlinkTLSArgs) -> FlinkInternalTLSArgs:
    """The Python component's arguments; every problem (TLS keys and the rest together) raised as one ConfigError
    in the package's terms."""
    tls_values = {key: str(value) for key, value in stack_config("FlinkTLS", _tls_only(args), TLS_KEYS).items()}
    reader = Reader()
    tls = read_tls(reader, tls_values)
    authentication = reader.enum(
        "restAuthentication",
        args.get("rest_authentication") or RestAuthentication.MTLS.value,
        RestAuthentication,
        "pulumi config set restAuthentication mtls",
    )
    problems: list[Problem] = list(reader.problems)
    # Checked with the default policy when the TLS keys are wrong, so their problems and these come in one report.
    checked_tls = tls or _default_tls()
    try:
        internal = FlinkInternalTLSArgs(
            deployment_name=args.get("deployment_name", ""),
            namespace=args.get("namespace", ""),
            policy=checked_tls.issuance,
            protocol=checked_tls.protocol,
            rest_authentication=authentication or RestAuthentication.MTLS,
            rest_client_identities=tuple(args.get("rest_client_identities") or ()),
            rest_caller_ca_pems=tuple(args.get("rest_caller_ca_certificates") or ()),
            rest_allowed_certificates=tuple(args.get("rest_allowed_certificates") or ()),
        )
    except ConfigError as error:
        problems.extend(error.problems)
    if problems:
        raise ConfigError([as_argument(p, "FlinkTLS") for p in problems], "FlinkTLS arguments")
    return internal


def _tls_only(args: FlinkTLSArgs) -> dict[str, object]:
    return {key: value for key, value in args.items() if key in TlsArguments.__annotations__}


def _default_tls() -> TlsSettings:
    tls = read_tls(Reader(), {key: str(DEFAULTS[key]) for key in TLS_KEYS})
    assert tls is not None, "the defaults are valid TLS settings"
    return tls
