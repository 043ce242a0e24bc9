import os
import time

import numpy as np
import pytest
from PIL import Image

from vision import services
from vision.embedders import embed_picture, embedder_for, forget_embedders
from vision.onnx_model.build import build_model

pytestmark = pytest.mark.django_db


def test_a_forked_child_creates_its_own_session_and_never_waits_on_the_parents():
    """A session of 2 threads created before a fork (a shopper's photo embedded in the parent):
    the child drops it at the fork without destroying it (destroying it would wait forever for
    threads the child does not have), embeds with a session of its own, and exits."""
    model = services.embedding_model_register_file(build_model(), variant="fp32")
    picture = Image.new("RGB", (300, 260), (180, 40, 40))
    in_parent = embed_picture(model, picture, threads=2)
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 only if it embedded the same vector
        code = 1
        try:
            forget_embedders()
            code = 0 if np.allclose(embed_picture(model, picture, threads=2), in_parent, atol=1e-5) else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0
    assert embedder_for(model, 2) is embedder_for(model, 2)  # the parent keeps its own session
