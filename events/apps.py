from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from posture.models import Actor, Base, Side

        from .models.imports import ImportJob, delete_upload_after_commit
        from .tasks import queue_after_commit, refresh_nearest_bases, refresh_suggestions, refresh_suggestions_of_actor

        # posture knows nothing of incidents, so events listens: a base that appears, moves or goes away
        # may change any incident's nearest base, recomputed in the background once the change commits.
        def base_changed(sender, **kwargs) -> None:
            queue_after_commit(refresh_nearest_bases)

        post_save.connect(base_changed, sender=Base, dispatch_uid="events.nearest_base.saved")
        post_delete.connect(base_changed, sender=Base, dispatch_uid="events.nearest_base.deleted")
        post_delete.connect(delete_upload_after_commit, sender=ImportJob, dispatch_uid="events.import_upload.deleted")
        # An actor moved to another side pairs differently (its incidents' sides are recomputed by a trigger);
        # a side deleted leaves its actors on their own.
        post_save.connect(
            lambda sender, instance, **kwargs: queue_after_commit(refresh_suggestions_of_actor, instance.pk),
            sender=Actor,
            weak=False,
            dispatch_uid="events.suggestions.actor_saved",
        )
        post_delete.connect(
            lambda sender, **kwargs: queue_after_commit(refresh_suggestions),
            sender=Side,
            weak=False,
            dispatch_uid="events.suggestions.side_deleted",
        )
