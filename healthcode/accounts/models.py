"""Accounts: a resident's account is a mainland mobile phone number; login is by one-time SMS code."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(BaseUserManager["User"]):
    def create_user(self, phone: str, password: str | None = None, **extra: object) -> User:
        user = self.model(phone=phone, **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account, identified by its mainland mobile number (11 digits, e.g. 13800138000)."""

    phone = models.CharField(_("手机号"), max_length=11, unique=True)
    is_active = models.BooleanField(_("有效"), default=True)
    is_staff = models.BooleanField(_("后台人员"), default=False)
    date_joined = models.DateTimeField(_("注册时间"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("账号")
        verbose_name_plural = _("账号")

    def __str__(self) -> str:
        from healthcode.lib.masking import mask_phone

        return mask_phone(self.phone)


class OtpChallenge(models.Model):
    """A one-time login code sent by SMS; only its keyed hash is stored.

    The rows double as the rate-limit ledger (codes per phone and per IP in the last hour),
    so the limits hold across processes. A newer challenge supersedes older unused ones by
    expiring them.
    """

    phone = models.CharField(max_length=11)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    tries = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["phone", "created_at"]),
            models.Index(fields=["ip", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"OTP for {self.phone[:3]}****{self.phone[-4:]} at {self.created_at:%Y-%m-%d %H:%M}"


class TokenScope(models.TextChoices):
    RESIDENT = "resident", _("居民")
    BACKOFFICE = "backoffice", _("管理系统")


class ApiToken(models.Model):
    """A bearer token for the JSON API; only the SHA-256 of the secret is stored. A
    back-office token is issued only after the password and a second factor."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    scope = models.CharField(max_length=16, choices=TokenScope.choices, default=TokenScope.RESIDENT)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"API token {self.pk} of {self.user}"
