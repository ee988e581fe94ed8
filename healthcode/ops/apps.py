from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Operations: health and readiness checks, Prometheus metrics, request logs."""

    name = "healthcode.ops"
    label = "ops"

    def ready(self) -> None:
        from healthcode.ops import checks  # noqa: F401  (registers the system checks)
