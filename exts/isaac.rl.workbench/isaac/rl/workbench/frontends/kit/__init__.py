"""The Isaac Sim extension: Kit loads this module (``config/extension.toml``) and starts the IExt below.

Only this folder imports ``omni``, ``carb``, ``isaacsim`` and ``pxr``'s Kit-side helpers; it holds no training,
spec or term logic: it renders the panel model (``frontends/panel.py``) with omni.ui and wires it to Kit.
"""

from .extension import RLWorkbenchExtension

__all__ = ["RLWorkbenchExtension"]
