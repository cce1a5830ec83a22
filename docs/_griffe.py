"""A griffe extension for the API pages: an Equinox module's fields are its constructor's
arguments, shown in the signature and documented in the class docstring's **Arguments**
list (properties stay). Inspected at runtime (`force_inspection`, which gives the dataclass signatures),
a field would otherwise appear as a class attribute documented by its default value's
type (`gamma = 1.0`: "Convert a string or number to a floating point number")."""

import ast
import functools
import inspect
import pathlib

import griffe


class DropFields(griffe.Extension):
    def on_class_members(self, *, node, cls, agent, **kwargs) -> None:
        fields = [
            name
            for name, member in cls.members.items()
            if not member.is_alias
            and member.is_attribute
            and "property" not in member.labels
        ]
        for name in fields:
            cls.del_member(name)


class DropObjectInitDoc(griffe.Extension):
    """A class without its own `__init__` docstring (every Equinox module) would show
    `object.__init__`'s ("Initialize self. See help(type(self))...") under its name."""

    def on_class_members(self, *, node, cls, agent, **kwargs) -> None:
        init = cls.members.get("__init__")
        if init is not None and not init.is_alias and init.docstring is not None:
            if init.docstring.value.startswith("Initialize self."):
                init.docstring = None


class SourceAttributeDocs(griffe.Extension):
    """A module attribute documented by a string after it (`CATALOGUE = {...}` then
    `\"\"\"The catalogue...\"\"\"`): inspection sees only its value, and so its type's
    docstring (`dict`'s); take the one in the source instead."""

    def on_attribute_instance(self, *, node, attr, agent, **kwargs) -> None:
        if not isinstance(node, griffe.ObjectNode) or not attr.parent.is_module:
            return
        if attr.docstring is None or attr.docstring.value != type(node.obj).__doc__:
            return
        text = _attribute_docs(str(attr.parent.filepath)).get(attr.name)
        attr.docstring = None if text is None else griffe.Docstring(text, parent=attr)


@functools.cache
def _attribute_docs(path: str) -> dict[str, str]:
    """Name -> the string literal right after its assignment, at a module's top level."""
    body = ast.parse(pathlib.Path(path).read_text(encoding="utf-8")).body
    docs = {}
    for statement, after in zip(body, body[1:], strict=False):
        targets = getattr(statement, "targets", None) or [
            getattr(statement, "target", None)
        ]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if (
            names
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[names[0]] = inspect.cleandoc(after.value.value)
    return docs
