"""The Rust extension module; use the package's functions and classes instead."""

from typing import List, Optional, Sequence, Tuple, Union

_Array = Tuple[bytearray, List[int]]
_Input = Union[str, Tuple[bytes, int, str]]

__version__: str

def features_of_file(path: str, whole_track: bool = False, db: bool = False) -> _Array: ...
def features_of_samples(
    samples: bytes, rate: int, whole_track: bool = False, db: bool = False, name: str = "array"
) -> _Array: ...
def bundled_models() -> List[str]: ...

class NativeClassifier:
    def __init__(self, model: str = "gtzan", device: str = "cpu") -> None: ...
    @property
    def labels(self) -> List[str]: ...
    @property
    def architecture(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def device(self) -> str: ...
    def predict_json(
        self,
        inputs: Sequence[_Input],
        aggregation: str = "mean",
        top_k: int = 3,
        whole_track: Optional[bool] = None,
        batch: int = 10,
        parallel: bool = False,
        errors_as_results: bool = False,
    ) -> List[str]: ...
    def explain(
        self,
        input: _Input,
        method: str = "integrated-gradients",
        segment: int = 0,
        target: Optional[int] = None,
        whole_track: Optional[bool] = None,
    ) -> Tuple[_Array, int, str]: ...
