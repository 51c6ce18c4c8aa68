"""Objects registered one by one: ``"demo.reverse" = "...:reverse"``, ``"demo.Doubler" = "...:Doubler"``."""

import lazyplug


def reverse(text):
    return text[::-1]


class Doubler(lazyplug.ModuleBase):
    def forward(self, x):
        return x * 2
