"""Admin for the webhook notifications: manage the subscriptions, watch the outbox. Registered by events.admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from ..models import Delivery, Kind, Subscription
from .outbox import QUEUE_DOWN, deliver, queue_after_commit


class SubscriptionForm(forms.ModelForm):
    # A webhook typed without a scheme is meant as https.
    url = forms.URLField(label="Webhook URL", max_length=1000, assume_scheme="https")
    kinds = forms.MultipleChoiceField(
        choices=Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )

    class Meta:
        model = Subscription
        fields = ["name", "url", "secret", "active", "notify_incidents", "notify_surges", "kinds", "country", "base",
                  "within_km"]  # fmt: skip

    def clean(self):
        cleaned = super().clean()
        if bool(cleaned.get("base")) != (cleaned.get("within_km") is not None):
            self.add_error("within_km", "Give both a base and a distance, or neither.")
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["name", "url", "filter_label", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["name", "url"]
    autocomplete_fields = ["base"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "id", "incident", "surge", "subscription", "status", "attempts", "last_status_code", "next_attempt_at"
    ]  # fmt: skip
    list_filter = ["status", "subscription"]
    search_fields = ["incident__title", "subscription__name"]
    list_select_related = ["incident", "surge", "subscription"]
    readonly_fields = [
        "subscription",
        "incident",
        "surge",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Send again now", permissions=["change"])
    def send_again(self, request, queryset):
        ids = list(queryset.exclude(status=Delivery.Status.DELIVERED).values_list("id", flat=True))
        failed: list[Exception] = []
        with transaction.atomic():
            Delivery.objects.filter(pk__in=ids).update(status=Delivery.Status.PENDING, next_attempt_at=timezone.now())
            for delivery_id in ids:
                queue_after_commit(deliver, delivery_id, on_error=failed.append)
        if failed:
            self.message_user(request, QUEUE_DOWN.format(what=f"{len(ids)} deliveries"), messages.WARNING)
        else:
            self.message_user(request, f"{len(ids)} deliveries queued.", messages.SUCCESS)
