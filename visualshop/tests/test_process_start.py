"""visualshop.process_start: what a web process does once it has started."""

import gc

from visualshop.process_start import freeze_start_up_objects


def test_start_up_objects_are_frozen_out_of_the_collectors_reach():
    kept_for_the_process = [[n] for n in range(1000)]  # lists: objects the collector tracks
    gc.unfreeze()
    try:
        freeze_start_up_objects()
        frozen = gc.get_freeze_count()
        # Every object alive now, the list above with them: no generation holds it any more,
        # so no collection walks it.
        assert frozen >= len(kept_for_the_process)
        for generation in (0, 1, 2):
            assert not any(item is kept_for_the_process for item in gc.get_objects(generation))
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0
