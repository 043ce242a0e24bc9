"""Receivers of tracking's visitor signals (tracking.notifications); thin: the work is in
ranking.profiles."""

from ranking.profiles import profile_delete, profile_merge_at_sign_in, profiles_refresh_soon


def merge_profile_at_sign_in(sender, visitor_id, user_id, **kwargs) -> None:
    profile_merge_at_sign_in(visitor_id, user_id)


def delete_forgotten_profile(sender, visitor_id, **kwargs) -> bool:
    return profile_delete(visitor_id)


def refresh_engaged_profiles_soon(sender, visitor_ids, **kwargs) -> list[str]:
    return profiles_refresh_soon(visitor_ids)
