"""Pure Arrow/Parquet: tensor specs, htypes, sample <-> column conversion, Parquet layout (L1)."""

from arrowds.format.columns import Blob
from arrowds.format.htypes import HTYPES, Htype, get_htype
from arrowds.format.spec import TensorSpec

__all__ = ["Blob", "HTYPES", "Htype", "get_htype", "TensorSpec"]
