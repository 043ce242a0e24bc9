"""Where the project lives on disk. `var/` holds every piece of local state."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# VISUALSHOP_VAR_DIR lets tests and a second checkout keep their own embedded services.
VAR_DIR = Path(os.environ.get("VISUALSHOP_VAR_DIR", BASE_DIR / "var")).resolve()
