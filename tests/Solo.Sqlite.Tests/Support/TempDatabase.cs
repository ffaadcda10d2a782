namespace Solo.Sqlite.Tests.Support;

/// <summary>A database path in a folder of its own under the temp folder, deleted with its WAL files on dispose.</summary>
public sealed class TempDatabase : IDisposable
{
    private readonly string _folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "solo-sqlite-tests", Guid.NewGuid().ToString("N"));

    public TempDatabase()
    {
        Directory.CreateDirectory(_folder);
        Path = System.IO.Path.Combine(_folder, "solo.db");
    }

    public string Path { get; }

    public string Folder => _folder;

    public SqliteOptions Options(TimeSpan? deliveryLease = null) => new()
    {
        Path = Path,
        DeliveryLease = deliveryLease ?? TimeSpan.FromMinutes(5),
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A handle still open (a test that failed before disposing its store) must not fail the run.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
