from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "healthcode.jobs"
    label = "jobs"
