"""Type aliases shared by the engine's modules."""

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
