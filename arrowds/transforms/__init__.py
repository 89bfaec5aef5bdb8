"""Transforms: ``@ads.compute`` functions and ``ads.compose`` pipelines run serially, on
threads, processes or Ray, writing fragments from the workers and committing once."""

from arrowds.transforms.compute import ComputeFunction, Pipeline, TransformFunction, compose, compute
from arrowds.transforms.outputs import Sample, SamplesOut, Value

__all__ = ["ComputeFunction", "Pipeline", "Sample", "SamplesOut", "TransformFunction", "Value",
           "compose", "compute"]
