"""Kits for people who extend arrowds (L6): ``DatasetBuilderTestCase`` for builder authors.

    class MyDsTest(ads.testing.DatasetBuilderTestCase):
        DATASET_CLASS = my_ds_dataset_builder.Builder
        SPLITS = {"train": 3, "test": 1}
        DL_EXTRACT_RESULT = ""          # download_and_extract(...) -> dummy_data/
"""

from arrowds.testing.builder_testcase import DatasetBuilderTestCase

__all__ = ["DatasetBuilderTestCase"]
