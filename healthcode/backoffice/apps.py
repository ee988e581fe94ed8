from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "healthcode.backoffice"
    label = "backoffice"

    def ready(self) -> None:
        # Job handlers register on import: the background worker must know them too.
        from healthcode.backoffice import roster_export  # noqa: F401
