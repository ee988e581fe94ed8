from django.apps import AppConfig


class EnterprisesConfig(AppConfig):
    name = "healthcode.enterprises"
    label = "enterprises"
