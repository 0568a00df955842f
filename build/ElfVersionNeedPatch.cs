// Marks one symbol-version requirement of an ELF shared library as weak, so the dynamic loader accepts a
// system library that lacks that version. Why: TorchSharp-cpu 0.107.0's libLibTorchSharp.so is built with
// GCC 13 and records a need for GLIBCXX_3.4.32 (for a symbol it never calls); Debian 12's libstdc++ stops at
// GLIBCXX_3.4.30, so without this the first TorchSharp call throws DllNotFoundException.
//
// This file is compiled twice: by MSBuild's RoslynCodeTaskFactory (TorchSharpNativeFix.targets, against
// netstandard, so it sticks to netstandard 2.0 APIs and plain C#) and into IcosFl.Learning.Tests, which
// defines ICOSFL_ELF_PATCH_WITHOUT_TASK to leave out the MSBuild task class at the bottom.
#nullable enable

namespace IcosFl.Build
{
    /// <summary>What <see cref="ElfVersionNeedPatch.MarkWeak"/> found and did.</summary>
    public enum VersionNeedPatchOutcome
    {
        /// <summary>The requirement was strong and is now weak.</summary>
        Patched,
        /// <summary>The requirement was weak already; the file was not written.</summary>
        AlreadyWeak,
        /// <summary>The file does not need that version (or has no version requirements); not written.</summary>
        VersionNotNeeded,
        /// <summary>The file is not a 64-bit little-endian ELF file; not written.</summary>
        NotElf64LittleEndian,
    }

    /// <summary>A Vernaux entry of an ELF file's .gnu.version_r section.</summary>
    public sealed class VersionNeedEntry
    {
        public VersionNeedEntry(string library, string version, ushort flags, long flagsFileOffset)
        {
            Library = library;
            Version = version;
            Flags = flags;
            FlagsFileOffset = flagsFileOffset;
        }

        /// <summary>The library that must provide the version (Verneed vn_file), e.g. libstdc++.so.6.</summary>
        public string Library { get; }
        public string Version { get; }
        /// <summary>vna_flags; bit <see cref="ElfVersionNeedPatch.VersionFlagWeak"/> makes the requirement weak.</summary>
        public ushort Flags { get; }
        /// <summary>File offset of the two bytes of vna_flags.</summary>
        public long FlagsFileOffset { get; }
        public bool IsWeak => (Flags & ElfVersionNeedPatch.VersionFlagWeak) != 0;
    }

    /// <summary>The ELF edit: section headers, then the SHT_GNU_verneed section, its Verneed/Vernaux chain, names in the linked string table.</summary>
    public static class ElfVersionNeedPatch
    {
        /// <summary>VER_FLG_WEAK of elf.h.</summary>
        public const ushort VersionFlagWeak = 0x2;

        private const uint SectionTypeGnuVersionNeed = 0x6ffffffe;
        private const int ElfHeaderSize = 64;
        private const int SectionHeaderSize = 64;
        private const int VerneedSize = 16;
        private const int VernauxSize = 16;

        /// <summary>
        /// Sets VER_FLG_WEAK on the requirement named <paramref name="versionName"/> in the file at
        /// <paramref name="path"/>. Only those two bytes change. The file is rewritten through a temporary copy
        /// and a rename, so a hard link or symbolic link into the NuGet cache is replaced, never written through;
        /// its last-write time is kept so MSBuild's incremental copy sees an unchanged file and skips it.
        /// </summary>
        public static VersionNeedPatchOutcome MarkWeak(string path, string versionName)
        {
            VersionNeedEntry? entry;
            using (var stream = new System.IO.FileStream(path, System.IO.FileMode.Open, System.IO.FileAccess.Read, System.IO.FileShare.Read))
            {
                if (!IsElf64LittleEndian(stream))
                {
                    return VersionNeedPatchOutcome.NotElf64LittleEndian;
                }

                entry = FindVersionNeed(stream, versionName, path);
            }

            if (entry == null)
            {
                return VersionNeedPatchOutcome.VersionNotNeeded;
            }

            if (entry.IsWeak)
            {
                return VersionNeedPatchOutcome.AlreadyWeak;
            }

            ushort flags = (ushort)(entry.Flags | VersionFlagWeak);
            var lastWrite = System.IO.File.GetLastWriteTimeUtc(path);
            string temporary = path + ".versionneed-patch.tmp";
            System.IO.File.Copy(path, temporary, overwrite: true);
            try
            {
                using (var stream = new System.IO.FileStream(temporary, System.IO.FileMode.Open, System.IO.FileAccess.Write, System.IO.FileShare.None))
                {
                    stream.Seek(entry.FlagsFileOffset, System.IO.SeekOrigin.Begin);
                    stream.Write(new[] { (byte)(flags & 0xff), (byte)(flags >> 8) }, 0, 2);
                }

                System.IO.File.SetLastWriteTimeUtc(temporary, lastWrite);
                System.IO.File.Replace(temporary, path, null);
            }
            finally
            {
                if (System.IO.File.Exists(temporary))
                {
                    System.IO.File.Delete(temporary);
                }
            }

            return VersionNeedPatchOutcome.Patched;
        }

        /// <summary>The requirement named <paramref name="versionName"/>, or null when the file does not record it.</summary>
        public static VersionNeedEntry? Find(string path, string versionName)
        {
            using (var stream = new System.IO.FileStream(path, System.IO.FileMode.Open, System.IO.FileAccess.Read, System.IO.FileShare.Read))
            {
                return IsElf64LittleEndian(stream) ? FindVersionNeed(stream, versionName, path) : null;
            }
        }

        private static bool IsElf64LittleEndian(System.IO.Stream stream)
        {
            if (stream.Length < ElfHeaderSize)
            {
                return false;
            }

            byte[] ident = ReadAt(stream, 0, 6, "ELF identification");
            return ident[0] == 0x7f && ident[1] == (byte)'E' && ident[2] == (byte)'L' && ident[3] == (byte)'F'
                && ident[4] == 2 /* ELFCLASS64 */ && ident[5] == 1 /* ELFDATA2LSB */;
        }

        private static VersionNeedEntry? FindVersionNeed(System.IO.Stream stream, string versionName, string path)
        {
            byte[] header = ReadAt(stream, 0, ElfHeaderSize, "ELF header");
            long sectionHeadersOffset = (long)U64(header, 0x28);
            int sectionHeaderSize = U16(header, 0x3a);
            long sectionCount = U16(header, 0x3c);
            if (sectionHeadersOffset == 0)
            {
                return null;
            }

            if (sectionHeaderSize != SectionHeaderSize)
            {
                throw Malformed(path, "section header size is " + sectionHeaderSize + ", expected " + SectionHeaderSize);
            }

            if (sectionCount == 0)
            {
                // More than 0xff00 sections: the real count sits in sh_size of section 0.
                sectionCount = (long)U64(ReadAt(stream, sectionHeadersOffset, SectionHeaderSize, "section header 0"), 0x20);
            }

            byte[] sections = ReadAt(stream, sectionHeadersOffset, checked(sectionCount * SectionHeaderSize), "section headers");
            for (int i = 0; i < sectionCount; i++)
            {
                int at = i * SectionHeaderSize;
                if (U32(sections, at + 4) != SectionTypeGnuVersionNeed)
                {
                    continue;
                }

                long needOffset = (long)U64(sections, at + 0x18);
                long needSize = (long)U64(sections, at + 0x20);
                uint stringsIndex = U32(sections, at + 0x28);
                uint needCount = U32(sections, at + 0x2c);
                if (stringsIndex >= sectionCount)
                {
                    throw Malformed(path, "version-need section links to string table " + stringsIndex + " of " + sectionCount);
                }

                int stringsAt = (int)stringsIndex * SectionHeaderSize;
                byte[] strings = ReadAt(stream, (long)U64(sections, stringsAt + 0x18), (long)U64(sections, stringsAt + 0x20), "version-need string table");
                byte[] need = ReadAt(stream, needOffset, needSize, "version-need section");

                long verneed = 0;
                for (uint n = 0; n < needCount; n++)
                {
                    RequireWithin(need, verneed, VerneedSize, path, "Verneed entry");
                    int auxCount = U16(need, (int)verneed + 2);
                    string library = NameAt(strings, U32(need, (int)verneed + 4), path);
                    long vernaux = verneed + U32(need, (int)verneed + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        RequireWithin(need, vernaux, VernauxSize, path, "Vernaux entry");
                        if (NameAt(strings, U32(need, (int)vernaux + 8), path) == versionName)
                        {
                            return new VersionNeedEntry(library, versionName, U16(need, (int)vernaux + 4), needOffset + vernaux + 4);
                        }

                        vernaux += U32(need, (int)vernaux + 12);
                    }

                    uint next = U32(need, (int)verneed + 12);
                    if (next == 0)
                    {
                        break;
                    }

                    verneed += next;
                }
            }

            return null;
        }

        private static byte[] ReadAt(System.IO.Stream stream, long offset, long count, string what)
        {
            if (offset < 0 || count < 0 || offset + count > stream.Length)
            {
                throw new System.IO.InvalidDataException(
                    "ELF " + what + " at offset " + offset + " (" + count + " bytes) lies outside the file (" + stream.Length + " bytes).");
            }

            var buffer = new byte[count];
            stream.Seek(offset, System.IO.SeekOrigin.Begin);
            int read = 0;
            while (read < count)
            {
                int got = stream.Read(buffer, read, (int)(count - read));
                if (got == 0)
                {
                    throw new System.IO.EndOfStreamException("ELF " + what + " ends early at offset " + (offset + read) + ".");
                }

                read += got;
            }

            return buffer;
        }

        private static void RequireWithin(byte[] section, long at, int size, string path, string what)
        {
            if (at < 0 || at + size > section.Length)
            {
                throw Malformed(path, what + " at " + at + " lies outside the version-need section (" + section.Length + " bytes)");
            }
        }

        private static string NameAt(byte[] strings, uint offset, string path)
        {
            if (offset >= strings.Length)
            {
                throw Malformed(path, "name offset " + offset + " lies outside the string table (" + strings.Length + " bytes)");
            }

            int end = System.Array.IndexOf(strings, (byte)0, (int)offset);
            return System.Text.Encoding.ASCII.GetString(strings, (int)offset, (end < 0 ? strings.Length : end) - (int)offset);
        }

        private static System.IO.InvalidDataException Malformed(string path, string problem) =>
            new System.IO.InvalidDataException("Malformed ELF file '" + path + "': " + problem + ".");

        // ELF fields are little-endian here (checked in IsElf64LittleEndian), whatever the host's byte order.
        private static ushort U16(byte[] b, int at) => (ushort)(b[at] | b[at + 1] << 8);

        private static uint U32(byte[] b, int at) => (uint)(b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24);

        private static ulong U64(byte[] b, int at) => U32(b, at) | (ulong)U32(b, at + 4) << 32;
    }

#if !ICOSFL_ELF_PATCH_WITHOUT_TASK
    /// <summary>MSBuild task: marks <see cref="VersionName"/> weak in each of <see cref="Files"/> that records it.</summary>
    public sealed class MarkElfVersionNeedWeak : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        [Microsoft.Build.Framework.Required]
        public string VersionName { get; set; } = "";

        public override bool Execute()
        {
            foreach (var item in Files)
            {
                string path = item.GetMetadata("FullPath");
                if (!System.IO.File.Exists(path))
                {
                    continue;
                }

                try
                {
                    var outcome = ElfVersionNeedPatch.MarkWeak(path, VersionName);
                    var importance = outcome == VersionNeedPatchOutcome.Patched
                        ? Microsoft.Build.Framework.MessageImportance.Normal
                        : Microsoft.Build.Framework.MessageImportance.Low;
                    Log.LogMessage(importance, "{0}: {1} (version need {2} weak, so an older libstdc++ loads it).", path, outcome, VersionName);
                }
                catch (System.Exception e) when (e is System.IO.IOException || e is System.UnauthorizedAccessException)
                {
                    Log.LogError("Could not mark {0} weak in {1}: {2}", VersionName, path, e.Message);
                }
            }

            return !Log.HasLoggedErrors;
        }
    }
#endif
}
