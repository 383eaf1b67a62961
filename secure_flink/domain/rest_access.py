"""How a REST client uses the exported material: the seed tutorial's checks as ready shell commands."""

import shlex

CA_FILE = "flink-ca.crt"


def client_files(client: str) -> tuple[str, str]:
    """Where the README's export commands put a client's certificate and key."""
    return f"{client}.crt", f"{client}.key"


def curl_commands(url: str, client: str) -> str:
    """List the running jobs, then read the first one's Writer vertex metrics, with the client's
    certificate and the stack CA (no `-k`: the server is verified)."""
    cert, key = client_files(client)
    base = url.rstrip("/")
    curl = f"curl --silent --fail --cert {shlex.quote(cert)} --key {shlex.quote(key)} --cacert {CA_FILE}"
    return (
        f"RUNNING_JOB_ID=$({curl} {shlex.quote(base + '/jobs/')} "
        "| jq -r '.jobs[] | select(.status == \"RUNNING\") | .id' | head -1)\n"
        f'{curl} "{base}/jobs/$RUNNING_JOB_ID" '
        '| jq \'.vertices[] | select(.name | contains("Writer")) | '
        '{"write-records": .metrics."write-records", "write-records-complete": .metrics."write-records-complete"}\''
    )
