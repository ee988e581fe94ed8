from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "healthcode.codes"
    label = "codes"

    def ready(self) -> None:
        # Job handlers register on import: the background worker must know them too.
        from healthcode.codes import rulesets_store  # noqa: F401
        from healthcode.codes.official_lists import link_entries_on_declaration
        from healthcode.codes.signals import code_declared

        # Someone on an official list who applies afterwards is red at once.
        code_declared.connect(
            link_entries_on_declaration, dispatch_uid="codes.link_official_list_entries"
        )
