"""The error tree of core: every failure a user or admin can cause has a stable `code`.

Adapters map codes to their medium in one place each (webui/errors.py: HTTP status + JSON; the bots: a message).
Core never raises HTTP errors. Messages are English defaults; adapters may translate by code.
"""

from __future__ import annotations

from typing import Any


class CoreError(Exception):
    """A failure with a stable machine code, a human message and optional data for the caller."""

    code = "internal_error"
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, **data: Any) -> None:
        self.message = message or self.default_message
        self.data = data
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, data={self.data!r})"


# --- input ---------------------------------------------------------------------------------------------------------
class InvalidInput(CoreError):
    code = "invalid_input"
    default_message = "The request is not valid."


class InvalidEmail(InvalidInput):
    code = "invalid_email"
    default_message = "That email address is not valid."


class InvalidPhone(InvalidInput):
    code = "invalid_phone"
    default_message = "That phone number is not valid; use international format such as +8613800138000."


class WeakPassword(InvalidInput):
    code = "weak_password"
    default_message = "The password must be at least 8 characters."


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"
    default_message = "Send the body as JSON with the header Content-Type: application/json."


class UnknownParameter(InvalidInput):
    """A request parameter the API does not document (OpenAI's `unknown_parameter`); data: field."""

    code = "unknown_parameter"
    default_message = "The request has a parameter this API does not know."


class UnsupportedParameter(InvalidInput):
    """A documented parameter (or value) this API cannot honour (OpenAI's `unsupported_parameter`); data: field."""

    code = "unsupported_parameter"
    default_message = "The request uses a parameter this API does not support."


class MessageTooLong(InvalidInput):
    """A message or system prompt over MESSAGE_MAX_CHARS; data: field, max, length."""

    code = "message_too_long"
    default_message = "The message is too long."


class PayloadTooLarge(InvalidInput):
    code = "payload_too_large"
    default_message = "The request body is too large."


# --- accounts and auth ---------------------------------------------------------------------------------------------
class AlreadyRegistered(CoreError):
    code = "already_registered"
    default_message = "An account with this email or phone already exists."


class InvalidCredentials(CoreError):
    code = "invalid_credentials"
    default_message = "Wrong account or password."


class AccountBlocked(CoreError):
    code = "account_blocked"
    default_message = "This account has been blocked."


class NotAuthenticated(CoreError):
    code = "not_authenticated"
    default_message = "Please sign in."


class Forbidden(CoreError):
    code = "forbidden"
    default_message = "You are not allowed to do this."


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    default_message = "The form expired; reload the page and try again."


class NotAdmin(Forbidden):
    code = "not_admin"
    default_message = "This account is not an administrator."


class NotFound(CoreError):
    code = "not_found"
    default_message = "Not found."


class AlreadyExists(CoreError):
    code = "already_exists"
    default_message = "Something with that name already exists."


class InUse(CoreError):
    code = "in_use"
    default_message = "It is in use, so it cannot be deleted."


class RegistrationClosed(CoreError):
    code = "registration_closed"
    default_message = "Registration is closed on this site."


class InviteRequired(CoreError):
    code = "invite_required"
    default_message = "An invitation code is required to register on this site."


class InvalidInviteCode(CoreError):
    code = "invalid_invite_code"
    default_message = "That invitation code does not exist."


# --- verification codes --------------------------------------------------------------------------------------------
class CodeRequired(CoreError):
    code = "code_required"
    default_message = "A verification code is required."


class InvalidCode(CoreError):
    code = "invalid_code"
    default_message = "The verification code is wrong or has expired."


class InvalidBindCode(CoreError):
    code = "invalid_bind_code"
    default_message = "The bind code is wrong or has expired; get a new one on your account page."


class CodeCooldown(CoreError):
    code = "code_cooldown"
    default_message = "Please wait before requesting another code."


class CodeDailyCap(CoreError):
    code = "code_daily_cap"
    default_message = "Too many codes requested today; try again tomorrow."


class DeliveryFailed(CoreError):
    code = "delivery_failed"
    default_message = "The code could not be delivered; try again later."


class DeliveryUnavailable(CoreError):
    code = "delivery_unavailable"
    default_message = "No email or SMS provider is configured for this kind of address."


class TooManyAttempts(CoreError):
    code = "too_many_attempts"
    default_message = "Too many attempts; try again later."


# --- plans, quotas, relay ------------------------------------------------------------------------------------------
class ModelNotFound(CoreError):
    code = "model_not_found"
    default_message = "That model does not exist."


class ModelNotInPlan(CoreError):
    code = "model_not_in_plan"
    default_message = "Your plan does not include this model."


class QuotaExceeded(CoreError):
    code = "rate_limit_exceeded"
    default_message = "You have reached your plan's limit for this model."


class NoResetChances(CoreError):
    code = "no_reset_chances"
    default_message = "You have no reset chances left."


class ContentBlocked(CoreError):
    code = "content_filter"
    default_message = "The content was blocked by moderation."


class UpstreamUnavailable(CoreError):
    code = "upstream_unavailable"
    default_message = "Every upstream for this model is unavailable; try again shortly."


class UpstreamError(CoreError):
    code = "upstream_error"
    default_message = "The model service returned an error."


class ContextTooLong(CoreError):
    code = "context_length_exceeded"
    default_message = "The message is too long for this model."


class LimitReached(CoreError):
    code = "limit_reached"
    default_message = "A limit on your account has been reached."


class DailyTokensExceeded(LimitReached):
    """The plan's daily token cap is used up, or what is left cannot hold this call's estimate; data: daily_tokens,
    used (including reservations of calls in flight), retry_after (seconds to 00:00 UTC), needed (the estimate,
    when some allowance is left)."""

    code = "daily_tokens_exceeded"
    default_message = "You have used today's token allowance."


# --- orders, payments, redemption codes ----------------------------------------------------------------------------
class PlanNotForSale(InvalidInput):
    code = "plan_not_for_sale"
    default_message = "This plan or billing cycle cannot be bought."


class PaymentsDisabled(CoreError):
    code = "payments_disabled"
    default_message = "Payments are not set up on this site."


class PaymentFailed(CoreError):
    code = "payment_failed"
    default_message = "The payment service could not start the payment; try again later."


class InvalidRedemptionCode(CoreError):
    code = "invalid_redemption_code"
    default_message = "This code is wrong, already used, disabled or expired."


class TooManyStreams(LimitReached):
    """The user already has MAX_STREAMS_PER_USER answers in progress; data: limit."""

    code = "too_many_streams"
    default_message = "You have too many answers in progress; wait for one to finish."


class PlanCapExceeded(InvalidInput):
    """The request asks for more than the user's plan allows per call; data: field, limit, plan."""

    code = "plan_cap_exceeded"
    default_message = "The request asks for more than your plan allows."


class UnsupportedContent(InvalidInput):
    """A content part of a type the model does not accept (or an unsafe media address); data: field, model, type."""

    code = "unsupported_content"
    default_message = "This model does not accept this kind of content."


class StoreUnavailable(CoreError):
    code = "store_unavailable"
    default_message = "The data store is not reachable."
