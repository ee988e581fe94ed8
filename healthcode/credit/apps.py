from django.apps import AppConfig


class CreditConfig(AppConfig):
    name = "healthcode.credit"
    label = "credit"
