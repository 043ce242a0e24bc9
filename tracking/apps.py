from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "tracking"
    verbose_name = "Tracking"

    def ready(self) -> None:
        # Django's way: receivers are connected once the app registry is ready (the services
        # they call import models).
        from django.contrib.auth.signals import user_logged_in

        from tracking.signals import merge_visitor_at_sign_in

        user_logged_in.connect(merge_visitor_at_sign_in, dispatch_uid="tracking.merge_visitor_at_sign_in")
