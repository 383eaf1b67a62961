"""Stack settings: what valid config becomes, and how every kind of bad value is refused."""

import copy
from typing import Any

import pytest

from secure_flink.domain.flink_deployment import DeploymentMode, UpgradeMode
from secure_flink.domain.roles import Role
from secure_flink.domain.tls_policy import KeyAlgorithm, TlsProtocol
from secure_flink.settings import ConfigError, MappingConfig, Platform, read_settings
from secure_flink.settings.defaults import DEFAULTS
from secure_flink.settings.model import RestClient, UiAuth
from tests.conftest import OIDC, stack_values


def read(values: dict[str, Any]):
    return read_settings(MappingConfig(values))


def with_deployment(**fields: Any) -> dict[str, Any]:
    values = stack_values("dev")
    values["deployments"][0].update(fields)
    return values


def test_dev_stack_reads_into_typed_settings():
    settings = read(stack_values("dev"))
    assert settings.platform is Platform.KUBERNETES
    assert [d.name for d in settings.deployments] == ["etl", "adhoc"]
    etl, adhoc = settings.deployments
    assert etl.job is not None and etl.job.upgrade_mode is UpgradeMode.STATELESS and etl.job.parallelism == 2
    assert etl.mode is DeploymentMode.NATIVE and etl.api_access.manages_pods
    assert adhoc.job is None and adhoc.mode is DeploymentMode.STANDALONE and not adhoc.api_access.needed
    assert etl.service_account == "etl-flink" and adhoc.service_account == "adhoc-flink"
    assert settings.api_server_cidrs == ("172.18.0.0/16",)
    assert etl.flink_configuration == {"taskmanager.numberOfTaskSlots": "2"}
    assert settings.tls.issuance.key.algorithm is KeyAlgorithm.RSA and settings.tls.protocol is TlsProtocol.TLS_1_3


def test_ocp_stack_selects_openshift():
    assert read(stack_values("ocp")).platform is Platform.OPENSHIFT


def test_flink_configuration_values_become_strings():
    values = with_deployment(flinkConfiguration={"parallelism.default": 4, "pipeline.object-reuse": True})
    conf = read(values).deployments[0].flink_configuration
    assert conf == {"parallelism.default": "4", "pipeline.object-reuse": "true"}


BAD_VALUES = [
    ("platform", {"platform": "gke"}, "platform", "gke"),
    ("namespace with capitals", {"namespace": "Flink"}, "namespace", "Flink"),
    ("operator namespace too long", {"operatorNamespace": "o" * 64}, "operatorNamespace", "o" * 64),
    ("key algorithm", {"keyAlgorithm": "DSA"}, "keyAlgorithm", "DSA"),
    ("rsa size", {"rsaBits": 1024}, "rsaBits", 1024),
    ("curve", {"ecdsaCurve": "P224"}, "ecdsaCurve", "P224"),
    ("protocol", {"tlsProtocol": "TLSv1.1"}, "tlsProtocol", "TLSv1.1"),
    ("validity not above renewal", {"certValidityHours": 720, "certEarlyRenewalHours": 720}, "certValidityHours", 720),
    (
        "certificate outlives CA",
        {"caValidityHours": 100, "certValidityHours": 200, "certEarlyRenewalHours": 10},
        "caValidityHours",
        100,
    ),
    ("negative hours", {"certEarlyRenewalHours": -1}, "certEarlyRenewalHours", -1),
    ("rotation with spaces", {"tlsRotation": "next year"}, "tlsRotation", "next year"),
    ("no deployments", {"deployments": []}, "deployments", []),
]


@pytest.mark.parametrize("case, overrides, key, bad", BAD_VALUES, ids=[c[0] for c in BAD_VALUES])
def test_bad_top_level_value_names_key_value_and_fix(case, overrides, key, bad):
    with pytest.raises(ConfigError) as raised:
        read({**stack_values("dev"), **overrides})
    problem = next(p for p in raised.value.problems if p.key == key)
    # Scalars reach the program as the strings the CLI hands over.
    assert problem.value in (bad, str(bad))
    assert f"secure-flink:{key}" in str(raised.value)
    assert "Fix:" in str(problem) and problem.fix


BAD_DEPLOYMENTS = [
    ("name not a label", {"name": "ETL_job"}, "deployments[0].name"),
    ("name too long for Flink's cluster id", {"name": "a" * 46}, "deployments[0].name"),
    ("name starts with digit", {"name": "1etl"}, "deployments[0].name"),
    ("unknown flinkVersion", {"flinkVersion": "v3_0"}, "deployments[0].flinkVersion"),
    ("flinkVersion too old for the TLS keys", {"flinkVersion": "v1_17"}, "deployments[0].flinkVersion"),
    ("image without tag", {"image": "flink"}, "deployments[0].image"),
    ("image latest", {"image": "flink:latest"}, "deployments[0].image"),
    ("mode", {"mode": "yarn"}, "deployments[0].mode"),
    ("memory unit", {"jobManager": {"memory": "2 potatoes"}}, "deployments[0].jobManager.memory"),
    ("cpu zero", {"taskManager": {"cpu": 0}}, "deployments[0].taskManager.cpu"),
    ("unknown resource field", {"taskManager": {"gpu": 1}}, "deployments[0].taskManager.gpu"),
    ("jar without scheme", {"job": {"jarURI": "/opt/job.jar", "parallelism": 1}}, "deployments[0].job.jarURI"),
    ("parallelism zero", {"job": {"jarURI": "local:///j.jar", "parallelism": 0}}, "deployments[0].job.parallelism"),
    (
        "upgrade mode",
        {"job": {"jarURI": "local:///j.jar", "upgradeMode": "sometimes"}},
        "deployments[0].job.upgradeMode",
    ),
    (
        "removed ssl switch",
        {"flinkConfiguration": {"security.ssl.enabled": "true"}},
        "deployments[0].flinkConfiguration.security.ssl.enabled",
    ),
    (
        "managed TLS key",
        {"flinkConfiguration": {"security.ssl.internal.keystore": "/tmp/k.p12"}},
        "deployments[0].flinkConfiguration.security.ssl.internal.keystore",
    ),
    (
        "managed secret mounts",
        {"flinkConfiguration": {"kubernetes.secrets": "x:/y"}},
        "deployments[0].flinkConfiguration.kubernetes.secrets",
    ),
    ("nested option value", {"flinkConfiguration": {"a.b": {"c": 1}}}, "deployments[0].flinkConfiguration.a.b"),
    ("relative mount path", {"secretMounts": {"kafka": "certs/kafka"}}, "deployments[0].secretMounts.kafka"),
    (
        "mount over the stack's own",
        {"secretMounts": {"kafka": "/opt/flink/secrets/rest-tls"}},
        "deployments[0].secretMounts.kafka",
    ),
    ("unknown deployment field", {"replicas": 3}, "deployments[0].replicas"),
    ("rest authentication", {"restAuthentication": "basic"}, "deployments[0].restAuthentication"),
]


@pytest.mark.parametrize("case, fields, key", BAD_DEPLOYMENTS, ids=[c[0] for c in BAD_DEPLOYMENTS])
def test_bad_deployment_field_names_its_path(case, fields, key):
    with pytest.raises(ConfigError) as raised:
        read(with_deployment(**fields))
    assert key in [p.key for p in raised.value.problems], raised.value
    assert f"secure-flink:{key}" in str(raised.value)


def test_duplicate_deployment_names_are_refused():
    values = stack_values("dev")
    values["deployments"].append(copy.deepcopy(values["deployments"][0]))
    with pytest.raises(ConfigError) as raised:
        read(values)
    assert [p.key for p in raised.value.problems] == ["deployments[2].name"]


def test_every_problem_is_reported_at_once():
    values = {**stack_values("dev"), "platform": "gke", "rsaBits": 1000}
    values["deployments"][1]["name"] = "Bad"
    with pytest.raises(ConfigError) as raised:
        read(values)
    assert {p.key for p in raised.value.problems} == {"platform", "rsaBits", "deployments[1].name"}


def test_missing_key_says_how_to_restore_it():
    values = stack_values("dev")
    del values["namespace"]
    with pytest.raises(ConfigError, match="secure-flink:namespace"):
        read(values)


STRONG_PASSWORD = "Vq7-correct-Horse-battery-2026"
BAD_UI = [
    ("hash scheme", {"uiHashScheme": "md5"}, "uiHashScheme"),
    ("domain with scheme", {"domain": "https://flink.example.com"}, "domain"),
    ("domain with path", {"domain": "example.com/flink"}, "domain"),
    ("domain with port", {"domain": "example.com:443"}, "domain"),
    ("body size unit", {"proxyMaxBodySize": "1TB"}, "proxyMaxBodySize"),
    ("route termination", {"uiRouteTermination": "edge"}, "uiRouteTermination"),
    ("proxy image unpinned", {"proxyImage": "nginx"}, "proxyImage"),
    ("no users", {"uiUsers": []}, "uiUsers"),
    ("user with colon", {"uiUsers": [{"name": "a:b"}]}, "uiUsers[0].name"),
    ("duplicate user", {"uiUsers": [{"name": "admin"}, {"name": "admin"}]}, "uiUsers[1].name"),
    ("unknown user field", {"uiUsers": [{"name": "admin", "rol": "viewer"}]}, "uiUsers[0].rol"),
    ("unknown role", {"uiUsers": [{"name": "admin", "role": "root"}]}, "uiUsers[0].role"),
    ("ingress class", {"ingressClass": "Nginx Public"}, "ingressClass"),
]


@pytest.mark.parametrize("case, overrides, key", BAD_UI, ids=[c[0] for c in BAD_UI])
def test_bad_ui_value_names_its_key(case, overrides, key):
    with pytest.raises(ConfigError) as raised:
        read({**stack_values("dev"), **overrides})
    assert key in [p.key for p in raised.value.problems], raised.value


def test_weak_user_password_is_refused_without_echoing_it():
    values = {**stack_values("dev"), "uiUsers": [{"name": "alice", "password": "alice-password-1"}]}
    with pytest.raises(ConfigError) as raised:
        read_settings(MappingConfig(values, secret_keys=("uiUsers",)))
    (problem,) = raised.value.problems
    assert problem.key == "uiUsers[0].password" and "too weak" in problem.reason
    assert "alice-password-1" not in str(raised.value)


def test_plain_text_password_is_refused_without_echoing_it():
    values = {**stack_values("dev"), "uiUsers": [{"name": "alice", "password": STRONG_PASSWORD}]}
    with pytest.raises(ConfigError) as raised:
        read(values)
    assert "--secret" in str(raised.value) and STRONG_PASSWORD not in str(raised.value)


def test_strong_secret_password_is_kept_and_never_shown():
    values = {**stack_values("dev"), "uiUsers": [{"name": "alice", "password": STRONG_PASSWORD}]}
    (user,) = read_settings(MappingConfig(values, secret_keys=("uiUsers",))).ui.users
    assert user.password == STRONG_PASSWORD and STRONG_PASSWORD not in repr(user)


def test_openshift_passthrough_needs_a_domain():
    with pytest.raises(ConfigError) as raised:
        read({**stack_values("ocp"), "domain": ""})
    assert [p.key for p in raised.value.problems] == ["domain"]
    assert read({**stack_values("ocp"), "domain": "", "uiRouteTermination": "reencrypt"}).ui.domain is None


BAD_CLIENTS = [
    ("not a list", {"name": "ci"}, "restClients"),
    ("name with capitals", [{"name": "CI-Bot"}], "restClients[0].name"),
    ("name too long", [{"name": "c" * 41}], "restClients[0].name"),
    ("duplicate", [{"name": "ci"}, {"name": "ci"}], "restClients[1].name"),
    ("unknown field", [{"name": "ci", "expires": "2027"}], "restClients[0].expires"),
]


@pytest.mark.parametrize("case, clients, key", BAD_CLIENTS, ids=[c[0] for c in BAD_CLIENTS])
def test_bad_rest_client_names_its_key(case, clients, key):
    with pytest.raises(ConfigError) as raised:
        read({**stack_values("dev"), "restClients": clients})
    assert key in [p.key for p in raised.value.problems], raised.value


def test_rest_clients_read_in_order_with_their_roles():
    clients = [{"name": "ci", "role": "admin"}, {"name": "ops", "role": "operator"}, {"name": "dash", "role": "viewer"}]
    values = {**stack_values("dev"), "restClients": clients, "domain": "flink.example.com"}
    assert read(values).rest_clients == (
        RestClient(name="ci", role=Role.ADMIN),
        RestClient(name="ops", role=Role.OPERATOR),
        RestClient(name="dash", role=Role.VIEWER),
    )


def test_a_rest_client_without_a_role_reads_only_and_the_stack_says_how_to_grant_one():
    values = {**stack_values("dev"), "restClients": [{"name": "ci"}], "domain": "flink.example.com"}
    settings = read(values)
    assert settings.rest_clients == (RestClient(name="ci", role=Role.VIEWER),)
    (warning,) = [w for w in settings.warnings if w.key.startswith("restClients")]
    assert (
        warning.key == "restClients[0].role" and "pulumi config set --path 'restClients[0].role' admin" in warning.fix
    )


def test_a_rest_client_role_outside_the_three_is_refused_with_the_choices():
    values = {**stack_values("dev"), "restClients": [{"name": "ci", "role": "root"}], "domain": "flink.example.com"}
    with pytest.raises(ConfigError) as raised:
        read(values)
    (problem,) = raised.value.problems
    assert problem.key == "restClients[0].role" and problem.value == "root"
    assert "viewer, operator, admin" in problem.reason and "restClients[0].role" in problem.fix


def test_unknown_top_level_key_is_refused_with_how_to_remove_it():
    with pytest.raises(ConfigError) as raised:
        read({**stack_values("dev"), "namesapce": "flink"})
    (problem,) = raised.value.problems
    assert problem.key == "namesapce" and "pulumi config rm namesapce" in problem.fix


def test_a_misspelt_key_gets_the_key_it_misspells_and_an_unrelated_one_gets_none():
    with pytest.raises(ConfigError) as raised:
        read({**stack_values("dev"), "namesapce": "flink", "retention": "7d"})
    fixes = {problem.key: problem.fix for problem in raised.value.problems}
    assert fixes["namesapce"].startswith("did you mean namespace?")
    assert "did you mean" not in fixes["retention"] and "pulumi config rm retention" in fixes["retention"]


def test_a_misspelt_field_gets_the_field_it_misspells():
    values = stack_values("dev")
    values["deployments"][0]["job"]["parallism"] = 4
    values["deployments"][0]["job"]["colour"] = "blue"
    with pytest.raises(ConfigError) as raised:
        read(values)
    fixes = {problem.key.rsplit(".", 1)[1]: problem.fix for problem in raised.value.problems}
    # parallelism is set already: renaming would overwrite it.
    assert fixes["parallism"].startswith("remove it (parallelism is set already);")
    assert fixes["colour"].startswith("remove it;")


def test_pulumi_config_lists_only_this_projects_keys():
    import pulumi

    from secure_flink.settings import PulumiConfig

    project = pulumi.get_project()
    pulumi.runtime.set_all_config({f"{project}:namespace": "flink", "kubernetes:context": "kind"})
    try:
        assert PulumiConfig().keys() == {"namespace"}
    finally:
        pulumi.runtime.set_all_config({})


def test_a_key_under_its_earlier_name_still_works_and_says_how_to_move_it():
    values = stack_values("dev")
    values["uiProxyImage"] = "nginxinc/nginx-unprivileged:1.29.3-alpine"
    settings = read(values)
    assert settings.ui.proxy_image == "nginxinc/nginx-unprivileged:1.29.3-alpine"
    (deprecation,) = settings.warnings
    assert deprecation.key == "uiProxyImage" and "renamed to proxyImage" in deprecation.reason
    assert deprecation.fix == (
        "pulumi config set proxyImage 'nginxinc/nginx-unprivileged:1.29.3-alpine' && pulumi config rm uiProxyImage"
    )


def test_without_earlier_keys_there_is_no_deprecation():
    assert read(stack_values("dev")).warnings == ()


def test_a_bad_value_under_an_earlier_name_is_fixed_by_removing_that_name_too():
    values = stack_values("dev")
    values["uiMaxBodySize"] = "lots"
    with pytest.raises(ConfigError) as error:
        read(values)
    (problem,) = error.value.problems
    assert problem.key == "proxyMaxBodySize" and problem.value == "lots"
    assert "uiMaxBodySize's" in problem.reason
    assert problem.fix == "pulumi config set proxyMaxBodySize 256m, then pulumi config rm uiMaxBodySize"


def test_a_user_without_a_role_reads_only_and_every_up_says_how_to_choose():
    values = {**stack_values("dev"), "uiUsers": [{"name": "alice"}, {"name": "bob", "role": "operator"}]}
    settings = read(values)
    assert [(u.name, u.role) for u in settings.ui.users] == [("alice", Role.VIEWER), ("bob", Role.OPERATOR)]
    (warning,) = settings.warnings
    assert warning.key == "uiUsers[0].role" and "alice is a viewer" in warning.reason
    assert "pulumi config set --path 'uiUsers[0].role' viewer" in warning.fix


def test_the_default_user_is_an_admin_as_every_user_was_before_roles():
    settings = read({**stack_values("dev"), "uiUsers": DEFAULTS["uiUsers"]})
    assert [(u.name, u.role) for u in settings.ui.users] == [("admin", Role.ADMIN)]
    assert settings.warnings == ()


def oidc_values(**changes: Any) -> dict[str, Any]:
    values = {**stack_values("dev"), **{k: v for k, v in OIDC.items() if k != "secret_keys"}, **changes}
    return values


def read_oidc(values: dict[str, Any], secret: bool = True):
    return read_settings(MappingConfig(values, secret_keys=("oidcClientSecret",) if secret else ()))


def test_oidc_settings_are_read_with_the_groups_that_hold_roles():
    ui = read_oidc(oidc_values()).ui
    assert ui.auth is UiAuth.OIDC and ui.oidc is not None
    assert ui.oidc.group_roles == (
        ("flink-admins", Role.ADMIN),
        ("flink-operators", Role.OPERATOR),
        ("flink-viewers", Role.VIEWER),
    )
    assert set(ui.oidc.login.allowed_groups) == {"flink-admins", "flink-operators", "flink-viewers"}
    assert ui.oidc.client_secret == OIDC["oidcClientSecret"] and OIDC["oidcClientSecret"] not in repr(ui.oidc)
    assert read(stack_values("dev")).ui.oidc is None, "control: basic auth by default"


def test_oidc_refuses_a_client_secret_in_plain_text():
    with pytest.raises(ConfigError) as raised:
        read_oidc(oidc_values(), secret=False)
    (problem,) = raised.value.problems
    assert problem.key == "oidcClientSecret" and "--secret" in problem.fix
    assert OIDC["oidcClientSecret"] not in str(raised.value)


def test_oidc_without_domain_egress_or_group_roles_names_each_key():
    values = oidc_values(domain="", oidcEgress=[], oidcGroupRoles=[])
    with pytest.raises(ConfigError) as raised:
        read_oidc(values)
    keys = {problem.key for problem in raised.value.problems}
    assert keys == {"domain", "oidcEgress", "oidcGroupRoles"}, raised.value


def test_oidc_group_roles_name_a_role_of_the_three_and_a_group_once():
    values = oidc_values(
        oidcGroupRoles=[
            {"group": "flink-admins", "role": "root"},
            {"group": "ops", "role": "operator"},
            {"group": "ops", "role": "viewer"},
        ]
    )
    with pytest.raises(ConfigError) as raised:
        read_oidc(values)
    found = {(problem.key, str(problem.value)) for problem in raised.value.problems}
    assert found == {("oidcGroupRoles[0].role", "root"), ("oidcGroupRoles[2].group", "ops")}


def test_an_oidc_issuer_that_is_not_https_is_refused_by_its_key():
    with pytest.raises(ConfigError) as raised:
        read_oidc(oidc_values(oidcIssuerUrl="http://login.example.com"))
    (problem,) = raised.value.problems
    assert problem.key == "oidcIssuerUrl" and problem.fix.startswith("pulumi config set oidcIssuerUrl https://")


def test_oidc_reports_a_bad_issuer_together_with_the_other_keys_problems():
    with pytest.raises(ConfigError) as raised:
        read_oidc(oidc_values(oidcIssuerUrl="login.example.com", oidcEgress=[]))
    assert {problem.key for problem in raised.value.problems} == {"oidcIssuerUrl", "oidcEgress"}
