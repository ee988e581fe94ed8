from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "healthcode.notifications"
    label = "notifications"
