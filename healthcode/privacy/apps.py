from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "healthcode.privacy"
    label = "privacy"
