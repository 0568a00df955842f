using IcosFl.Build;

namespace IcosFl.Learning.Tests.NativeFix;

public sealed class ElfVersionNeedPatchTests : IDisposable
{
    // From `readelf -V`: .gnu.version_r at file offset 0x3f8f0, GLIBCXX_3.4.32 is its Vernaux entry at 0x140,
    // and vna_flags sits 4 bytes into a Vernaux entry.
    private const long ExpectedFlagsOffset = 0x3f8f0 + 0x140 + 4;

    private readonly string directory = Directory.CreateTempSubdirectory("icosfl-elf-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void The_NuGet_cache_copy_is_pristine_and_needs_the_version_strongly()
    {
        var entry = ElfVersionNeedPatch.Find(TorchSharpNativeLibrary.InNuGetCache(), TorchSharpNativeLibrary.WeakVersion);

        Assert.NotNull(entry);
        Assert.Equal("libstdc++.so.6", entry.Library);
        Assert.Equal(0, entry.Flags);
        Assert.Equal(ExpectedFlagsOffset, entry.FlagsFileOffset);
    }

    [Fact]
    public void The_build_output_copy_is_patched()
    {
        var entry = ElfVersionNeedPatch.Find(TorchSharpNativeLibrary.InOutput, TorchSharpNativeLibrary.WeakVersion);

        Assert.NotNull(entry);
        Assert.True(entry.IsWeak);
        Assert.Equal(ElfVersionNeedPatch.VersionFlagWeak, entry.Flags);
    }

    [Fact]
    public void Patching_sets_only_the_weak_flag_of_that_entry()
    {
        var copy = CopyOfPristineLibrary();
        var before = File.ReadAllBytes(copy);

        var outcome = ElfVersionNeedPatch.MarkWeak(copy, TorchSharpNativeLibrary.WeakVersion);

        Assert.Equal(VersionNeedPatchOutcome.Patched, outcome);
        var after = File.ReadAllBytes(copy);
        Assert.Equal(before.Length, after.Length);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToArray();
        Assert.Equal([ExpectedFlagsOffset], changed.Select(i => (long)i));
        Assert.Equal(0x00, before[ExpectedFlagsOffset]);
        Assert.Equal(0x02, after[ExpectedFlagsOffset]);
        Assert.True(ElfVersionNeedPatch.Find(copy, TorchSharpNativeLibrary.WeakVersion)!.IsWeak);
        // Other requirements stay strong.
        Assert.False(ElfVersionNeedPatch.Find(copy, "GLIBCXX_3.4.30")!.IsWeak);
    }

    [Fact]
    public void Patching_twice_changes_nothing_the_second_time()
    {
        var copy = CopyOfPristineLibrary();
        ElfVersionNeedPatch.MarkWeak(copy, TorchSharpNativeLibrary.WeakVersion);
        var once = File.ReadAllBytes(copy);
        var writtenAt = File.GetLastWriteTimeUtc(copy);

        var outcome = ElfVersionNeedPatch.MarkWeak(copy, TorchSharpNativeLibrary.WeakVersion);

        Assert.Equal(VersionNeedPatchOutcome.AlreadyWeak, outcome);
        Assert.Equal(once, File.ReadAllBytes(copy));
        Assert.Equal(writtenAt, File.GetLastWriteTimeUtc(copy));
    }

    [Fact]
    public void Patching_keeps_the_last_write_time_so_incremental_copies_skip_the_file()
    {
        var copy = CopyOfPristineLibrary();
        var original = new DateTime(2026, 5, 7, 12, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(copy, original);

        ElfVersionNeedPatch.MarkWeak(copy, TorchSharpNativeLibrary.WeakVersion);

        Assert.Equal(original, File.GetLastWriteTimeUtc(copy));
    }

    [Fact]
    public void Patching_a_hard_link_leaves_the_linked_file_untouched()
    {
        // MSBuild can hard-link copy-local files to the NuGet cache; the patch must never write through such a link.
        var cacheStandIn = CopyOfPristineLibrary();
        var output = Path.Combine(directory, "output-" + TorchSharpNativeLibrary.FileName);
        using (var ln = System.Diagnostics.Process.Start("ln", [cacheStandIn, output]))
        {
            ln.WaitForExit();
            Assert.Equal(0, ln.ExitCode);
        }

        var before = File.ReadAllBytes(cacheStandIn);
        ElfVersionNeedPatch.MarkWeak(output, TorchSharpNativeLibrary.WeakVersion);

        Assert.Equal(before, File.ReadAllBytes(cacheStandIn));
        Assert.True(ElfVersionNeedPatch.Find(output, TorchSharpNativeLibrary.WeakVersion)!.IsWeak);
    }

    [Fact]
    public void A_library_without_that_requirement_is_left_alone()
    {
        var copy = CopyOfPristineLibrary();
        var before = File.ReadAllBytes(copy);

        var outcome = ElfVersionNeedPatch.MarkWeak(copy, "GLIBCXX_9.9.99");

        Assert.Equal(VersionNeedPatchOutcome.VersionNotNeeded, outcome);
        Assert.Equal(before, File.ReadAllBytes(copy));
    }

    [Fact]
    public void A_file_that_is_not_an_elf_library_is_left_alone()
    {
        var text = Path.Combine(directory, "not-elf.so");
        File.WriteAllText(text, "not an ELF file, but long enough to hold an ELF header of sixty-four bytes.");

        Assert.Equal(VersionNeedPatchOutcome.NotElf64LittleEndian, ElfVersionNeedPatch.MarkWeak(text, TorchSharpNativeLibrary.WeakVersion));
    }

    [Fact]
    public void A_truncated_library_is_reported_not_patched()
    {
        var truncated = Path.Combine(directory, "truncated.so");
        File.WriteAllBytes(truncated, File.ReadAllBytes(TorchSharpNativeLibrary.InNuGetCache()).AsSpan(0, 4096).ToArray());

        var error = Assert.Throws<InvalidDataException>(() => ElfVersionNeedPatch.MarkWeak(truncated, TorchSharpNativeLibrary.WeakVersion));
        Assert.Contains("section headers", error.Message);
    }

    private string CopyOfPristineLibrary()
    {
        var copy = Path.Combine(directory, Guid.NewGuid().ToString("N") + "-" + TorchSharpNativeLibrary.FileName);
        File.Copy(TorchSharpNativeLibrary.InNuGetCache(), copy);
        return copy;
    }
}
