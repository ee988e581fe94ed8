from django.apps import AppConfig


class EnterprisesConfig(AppConfig):
    name = "healthcode.enterprises"
    label = "enterprises"

    def ready(self) -> None:
        from healthcode.codes.signals import code_declared
        from healthcode.enterprises.signals import link_invitations_on_declaration

        code_declared.connect(
            link_invitations_on_declaration, dispatch_uid="enterprises.link_invitations"
        )
