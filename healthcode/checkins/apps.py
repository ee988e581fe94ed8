from django.apps import AppConfig


class CheckinsConfig(AppConfig):
    name = "healthcode.checkins"
    label = "checkins"
