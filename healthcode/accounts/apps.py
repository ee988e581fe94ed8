from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "healthcode.accounts"
    label = "accounts"
