"""Login and logout pages; the login itself is services.request_otp / services.verify_otp."""

from __future__ import annotations

from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from healthcode.accounts import services
from healthcode.accounts.auth import client_ip
from healthcode.accounts.forms import LoginForm
from healthcode.lib.errors import ApiError

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


@sensitive_post_parameters("code")
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    """Step 1: the phone, POST action=send sends a code. Step 2: the code, POST action=verify
    logs in and redirects to a same-site `next` (else "/")."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    step = "phone"
    notice = ""
    form = LoginForm(request.POST or None)
    if request.method == "POST":
        form.is_valid()  # binds cleaned_data; the service supplies the errors
        phone = form.cleaned_data.get("phone", "")
        action = request.POST.get("action", "send")
        if action == "verify":
            step = "code"
            try:
                user = services.verify_otp(
                    phone=phone, code=form.cleaned_data.get("code", ""), ip=client_ip(request)
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                auth_login(request, user, backend=MODEL_BACKEND)
                return HttpResponseRedirect(_safe_next(request, next_url))
        else:
            try:
                services.request_otp(phone=phone, ip=client_ip(request))
            except ValidationError as exc:
                form.add_error(None, exc)
            except ApiError as exc:
                # Throttled: an earlier code may still be valid, so offer the code field.
                form.add_error("phone", exc.detail)
                step = "code"
            else:
                step = "code"
                notice = services.code_sent_message()
        if step == "code":
            form.fields["code"].widget.attrs["autofocus"] = True
    return TemplateResponse(
        request,
        "accounts/login.html",
        {"form": form, "step": step, "notice": notice, "next": next_url},
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """End the session (POST only, so a link or an image cannot log anyone out)."""
    auth_logout(request)
    return HttpResponseRedirect("/")
