"""The `restClients` list of the stack config: who gets a REST client certificate, and with which role."""

from secure_flink.domain import names
from secure_flink.domain.roles import Role
from secure_flink.settings.model import RestClient
from secure_flink.settings.reader import Reader, read_list, set_hint
from secure_flink.settings.roles import read_role

CLIENT_FIELDS = frozenset({"name", "role"})


def read_rest_clients(reader: Reader, text: str | None) -> tuple[RestClient, ...] | None:
    items = read_list(
        reader, "restClients", text, reason="must be a list of clients", fix=set_hint("restClients[0].name", "ci-bot")
    )
    if items is None:
        return None
    before, clients = len(reader.problems), list[RestClient]()
    listed = [item.get("name") if isinstance(item, dict) else None for item in items]
    fixed = names.unique_names(listed, valid=names.is_client_name, free=names.free_client_name)
    for i, item in enumerate(items):
        key = f"restClients[{i}]"
        if not isinstance(item, dict):
            reader.fail(key, item, "must be a map with name and role", set_hint(f"{key}.name", fixed[i]))
            continue
        reader.unknown_fields(key, item, CLIENT_FIELDS)
        name = item.get("name")
        role = read_role(
            reader, key, name, item.get("role"), before="every client could upload and run jars", suggested=Role.ADMIN
        )
        problem = names.client_name_problem(name)
        if problem is not None:
            reader.fail(f"{key}.name", name, problem, set_hint(f"{key}.name", fixed[i]))
        elif any(client.name == name for client in clients):
            reader.fail(f"{key}.name", name, "is listed twice", set_hint(f"{key}.name", fixed[i]))
        else:
            clients.append(RestClient(name=str(name), role=role))
    return tuple(clients) if len(reader.problems) == before else None
