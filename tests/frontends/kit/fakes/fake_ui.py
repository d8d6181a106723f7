"""FAKE ``omni.ui``: the widgets the extension's window makes, as plain objects that remember what they were given,
with ``clicked_fn`` callable through :meth:`Button.click`. Build functions run at once (Kit runs them when the
frame is drawn). Not Kit: see the package docstring."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

WIDGETS: list[Widget] = []  # every widget made since reset(), in order


def reset() -> None:
    WIDGETS.clear()


class Type(enum.Enum):
    LINE = 0
    HISTOGRAM = 1


class DockPreference(enum.Enum):
    LEFT_BOTTOM = 0


class ValueModel:
    """``AbstractValueModel``: one value with change callbacks."""

    def __init__(self, value: Any = None):
        self._value, self._fns = value, []

    def set_value(self, value: Any) -> None:
        self._value = value
        for fn in self._fns:
            fn(self)

    def add_value_changed_fn(self, fn: Callable) -> None:
        self._fns.append(fn)

    def get_value_as_string(self) -> str:
        return "" if self._value is None else str(self._value)

    as_bool = property(lambda self: bool(self._value))
    as_int = property(lambda self: int(self._value or 0))
    as_float = property(lambda self: float(self._value or 0.0))


class ComboModel:
    def __init__(self, index: int):
        self._index = ValueModel(index)

    def get_item_value_model(self, item: Any = None, column: int = 0) -> ValueModel:
        return self._index


class Widget:
    def __init__(self, *args: Any, **kwargs: Any):
        self.args, self.kwargs = args, kwargs
        self.visible = kwargs.get("visible", True)
        self.destroyed = False
        WIDGETS.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def destroy(self) -> None:
        self.destroyed = True


class Frame(Widget):
    def __init__(self, *args: Any, build_fn: Callable | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.build_fn = None
        if build_fn is not None:
            self.set_build_fn(build_fn)

    def set_build_fn(self, fn: Callable) -> None:
        self.build_fn = fn
        fn()

    def rebuild(self) -> None:
        if self.build_fn is not None:
            self.build_fn()


class Window(Widget):
    def __init__(self, title: str, **kwargs: Any):
        super().__init__(title, **kwargs)
        self.title, self.frame = title, Frame()


class ScrollingFrame(Frame):
    pass


class CollapsableFrame(Frame):
    def __init__(self, title: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.title = title


class VStack(Widget):
    pass


class HStack(Widget):
    pass


class Label(Widget):
    def __init__(self, text: str = "", **kwargs: Any):
        super().__init__(**kwargs)
        self.text = text


class Button(Widget):
    def __init__(self, text: str = "", clicked_fn: Callable | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.text, self.clicked_fn = text, clicked_fn

    def click(self) -> None:
        self.clicked_fn()


class StringField(Widget):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.model = ValueModel("")


class CheckBox(Widget):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.model = ValueModel(False)


class ComboBox(Widget):
    def __init__(self, index: int, *items: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.items, self.model = list(items), ComboModel(index)


class ProgressBar(Widget):
    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.model = ValueModel(0.0)


class Plot(Widget):
    def __init__(self, type: Type = Type.LINE, scale_min: float = 0.0, scale_max: float = 1.0, *values, **kwargs):
        super().__init__(**kwargs)
        self.type, self.scale_min, self.scale_max, self.data = type, scale_min, scale_max, list(values)

    def set_data(self, *values: float) -> None:
        self.data = list(values)
