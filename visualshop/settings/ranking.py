"""Learned ranking and personalisation (ranking/): what the ranker re-orders, how engagement
and visitors' tastes are decayed, when a retrained model may go live."""

from visualshop.env import env_bool, env_float, env_int

# The first results of today's order the live ranker re-orders (deeper pages keep today's order).
RANKING_CANDIDATES = env_int("RANKING_CANDIDATES", 100)
# How long a process keeps what the ranker reads of a product (ranking.fact_cache) and which
# ranker is live (ranking.selectors.live_ranker) before reading them again: a staff change of
# price or stock, or a promotion in another process, reaches the ranker's order this late. 0: no
# cache. 50,000 products take at most about 75 MB per process.
RANKING_FACTS_CACHE_SECONDS = env_float("RANKING_FACTS_CACHE_SECONDS", 60.0)
RANKING_FACTS_CACHE_PRODUCTS = env_int("RANKING_FACTS_CACHE_PRODUCTS", 50_000)
RANKING_LIVE_CHECK_SECONDS = env_float("RANKING_LIVE_CHECK_SECONDS", 10.0)
# Engagement counts toward a product's popularity with this half-life: a click two weeks ago
# counts half as much as one today.
RANKING_POPULARITY_HALF_LIFE_DAYS = env_float("RANKING_POPULARITY_HALF_LIFE_DAYS", 14.0)
# A visitor's profile forgets with this half-life (tastes change more slowly than fashions).
RANKING_PROFILE_HALF_LIFE_DAYS = env_float("RANKING_PROFILE_HALF_LIFE_DAYS", 30.0)
# A visitor's profile is rebuilt this long after their first click, add to cart or purchase in
# that time (ranking.profiles.profiles_refresh_soon), besides the periodic rebuild of all; -1: only
# the periodic one.
RANKING_PROFILE_REFRESH_DELAY_SECONDS = env_float("RANKING_PROFILE_REFRESH_DELAY_SECONDS", 10.0)
# Personal features (ranking.features.PERSONAL_FEATURES) for visitors with a profile. Off: every
# visitor is ranked as a newcomer is (the personalisation experiment's switch works the same way).
RANKING_PERSONALISATION = env_bool("RANKING_PERSONALISATION", True)
# Exploration: in this share of searches the first RANKING_EXPLORATION_DEPTH results are
# shuffled (ranking.serving.explored), logged as "<ranker>+explore", so training can tell a
# result's position from its rank in today's order (ranking.training, position debiasing).
# 1 search in 10, the first 6 results: a shopper still sees the same first screen, in another order.
RANKING_EXPLORATION = env_float("RANKING_EXPLORATION", 0.1)
RANKING_EXPLORATION_DEPTH = env_int("RANKING_EXPLORATION_DEPTH", 6)

# Retraining (ranking.retraining): a model is trained on the RANKING_TRAINING_DAYS before the
# last RANKING_HOLDOUT_DAYS and judged on those later days, against the live one on the same
# searches. It goes live only when its NDCG@10 there beats the live one's (or today's order's,
# with none live) by RANKING_PROMOTION_MARGIN (relative: 0.01 = 1% better): a model about as
# good as the live one is not worth a change shoppers would see.
RANKING_TRAINING_DAYS = env_float("RANKING_TRAINING_DAYS", 28.0)
RANKING_HOLDOUT_DAYS = env_float("RANKING_HOLDOUT_DAYS", 2.0)
RANKING_PROMOTION_MARGIN = env_float("RANKING_PROMOTION_MARGIN", 0.01)
# Fewer clicked searches than these in the training window or the held-out days: no model
# (too little to learn from, or to judge it by).
RANKING_MIN_TRAINING_SEARCHES = env_int("RANKING_MIN_TRAINING_SEARCHES", 200)
RANKING_MIN_HELD_OUT_SEARCHES = env_int("RANKING_MIN_HELD_OUT_SEARCHES", 50)
