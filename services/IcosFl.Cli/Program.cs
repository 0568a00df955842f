Console.Error.WriteLine("icosfl: not built yet");
return 2;
