"""Result objects: read-only attribute access over the JSON the Rust core produced."""

from __future__ import annotations

import html
import json
from typing import Any, Dict, Iterator, Mapping


class Record(Mapping[str, Any]):
    """A result with fields as attributes (``r.ber``) and as a mapping (``r["ber"]``).

    ``to_dict()`` returns a deep copy of the fields; nested objects are plain dicts/lists.
    """

    _fields: Dict[str, Any]

    def __init__(self, fields: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_fields", dict(fields))

    @classmethod
    def _from_json(cls, text: str) -> "Record":
        return cls(json.loads(text))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_fields":
            raise AttributeError(name)
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._fields))

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a new dict (nested values copied; arrays as lists)."""
        return json.loads(json.dumps(self._fields, default=_jsonable))

    def __reduce__(self) -> Any:
        return (type(self), (self._fields,))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self._fields.items())
        return f"{type(self).__name__}({inner})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>{html.escape(_short(v, 120))}</td></tr>"
            for k, v in self._fields.items()
        )
        return f"<table><caption>{html.escape(type(self).__name__)}</caption>{rows}</table>"


def _jsonable(v: Any) -> Any:
    tolist = getattr(v, "tolist", None)
    if tolist is not None:
        return tolist()
    raise TypeError(f"{type(v).__name__} is not JSON serializable")


def _short(v: Any, limit: int = 60) -> str:
    if isinstance(v, float):
        s = f"{v:.6g}"
    else:
        s = repr(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"
