namespace Solo.Tests.Support;

/// <summary>The arguments of the probe task: a key and a value that identifies the event.</summary>
public sealed record Work(int Key, int Value = 0);
