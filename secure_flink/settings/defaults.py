"""The defaults of the top-level keys, for programs that pass settings without a stack file (the component
package). Pulumi.yaml declares the same defaults for stacks; a test keeps the two equal."""

DEFAULTS: dict[str, object] = {
    "platform": "kubernetes",
    "namespace": "flink",
    "operatorNamespace": "flink-operator",
    "keyAlgorithm": "RSA",
    "rsaBits": 3072,
    "ecdsaCurve": "P256",
    "tlsProtocol": "TLSv1.3",
    "caValidityHours": 43800,
    "certValidityHours": 8760,
    "certEarlyRenewalHours": 720,
    "tlsRotation": "initial",
    "deployments": [{"name": "flink", "image": "flink:2.2.1-scala_2.12-java17"}],
    "uiEnabled": True,
    "uiUsers": [{"name": "admin", "role": "admin"}],
    "uiHashScheme": "ssha",
    "domain": "",
    "uiRouteTermination": "passthrough",
    "ingressClass": "nginx",
    "proxyMaxBodySize": "256m",
    "proxyImage": "nginxinc/nginx-unprivileged:1.29.4-alpine",
    "restClients": [],
    "ingressControllerNamespace": "ingress-nginx",
    "apiServerCidrs": [],
}
