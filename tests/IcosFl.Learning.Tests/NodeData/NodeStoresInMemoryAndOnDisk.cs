using IcosFl.Learning.NodeData;
using IcosFl.TestKit;
using IcosFl.TestKit.NodeData;

namespace IcosFl.Learning.Tests.NodeData;

public sealed class The_in_memory_node_store : NodeStoreContract
{
    protected override INodeStore Open(string node, StoreLimits? limits = null) => new InMemoryNodeStore(node, limits);

    protected override bool Persists => false;

    protected override string StoreKind => "memory";
}

public sealed class The_file_node_store : NodeStoreContract
{
    private readonly TemporaryDirectory _dir = new();

    protected override INodeStore Open(string node, StoreLimits? limits = null) => new FileNodeStore(_dir.Path, node, limits);

    protected override bool Persists => true;

    protected override string StoreKind => "file ";

    public override void Dispose()
    {
        _dir.Dispose();
        base.Dispose();
    }
}
