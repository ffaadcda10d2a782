namespace Solo.Tasks;

/// <summary>The registered tasks, by name and by arguments type. Task names map to registered types only.</summary>
internal sealed class TaskRegistry
{
    private readonly Dictionary<string, TaskRegistration> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, TaskRegistration> _byArgs = [];

    public IEnumerable<TaskRegistration> All => _byName.Values;

    public void Add(TaskRegistration registration)
    {
        if (_byName.ContainsKey(registration.Name))
        {
            throw new InvalidOperationException($"A task named '{registration.Name}' is registered already.");
        }

        if (_byArgs.TryGetValue(registration.ArgsType, out var other))
        {
            throw new InvalidOperationException(
                $"Arguments type {registration.ArgsType.Name} is registered already for task '{other.Name}'; give each task its own arguments type.");
        }

        _byName.Add(registration.Name, registration);
        _byArgs.Add(registration.ArgsType, registration);
    }

    public TaskRegistration? FindByName(string name) => _byName.GetValueOrDefault(name);

    public TaskRegistration GetByArgs(Type argsType) =>
        _byArgs.GetValueOrDefault(argsType)
        ?? throw new TaskNotRegisteredException($"No task is registered for arguments of type {argsType.FullName}. Register one with AddTask<TTask, {argsType.Name}>(name).");
}
