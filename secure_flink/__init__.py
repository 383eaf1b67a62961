"""secure-flink: Apache Flink on Kubernetes or OpenShift, secure by construction, as Pulumi components.

`SecureFlinkPlatform` builds everything one stack runs from validated settings; the components it composes
(`secure_flink.components`) can be used alone. `secure_flink.domain` holds the decisions (names, TLS policy,
Flink options, nginx configuration, NetworkPolicies) as pure functions; `secure_flink.settings` reads and
validates stack config.
"""

__version__ = "0.12.0"
