from django.apps import AppConfig


class RankingConfig(AppConfig):
    name = "ranking"
    verbose_name = "Ranking"

    def ready(self) -> None:
        # Receivers are connected once the app registry is ready (ranking.profiles imports models).
        from ranking.signals import delete_forgotten_profile, merge_profile_at_sign_in, refresh_engaged_profiles_soon
        from tracking.notifications import engagement_recorded, visitor_forgotten, visitor_merged

        visitor_merged.connect(merge_profile_at_sign_in, dispatch_uid="ranking.merge_profile_at_sign_in")
        visitor_forgotten.connect(delete_forgotten_profile, dispatch_uid="ranking.delete_forgotten_profile")
        engagement_recorded.connect(refresh_engaged_profiles_soon, dispatch_uid="ranking.refresh_engaged_profiles_soon")
