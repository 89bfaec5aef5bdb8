"""image_folder: a folder of images labelled by sub-folder, ``<split>/<label>/<image>``."""

from arrowds.builders.catalog.image_folder.builder import ImageFolder

__all__ = ["ImageFolder"]
