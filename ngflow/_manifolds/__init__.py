from ._toy import LinearModel as LinearModel, QuadraticModel as QuadraticModel
