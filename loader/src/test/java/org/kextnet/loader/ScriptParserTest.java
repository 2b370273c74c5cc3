package org.kextnet.loader;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.kextnet.loader.script.ScriptArg;
import org.kextnet.loader.script.ScriptCommand;
import org.kextnet.loader.script.ScriptException;
import org.kextnet.loader.script.ScriptParser;
import org.kextnet.loader.script.ServerScript;

class ScriptParserTest {
    static final Path FILE = Path.of("/srv/x/test.kern_server");

    static ServerScript parse(String text) throws ScriptException {
        return ScriptParser.parse(FILE, text, p -> true);
    }

    static void fails(String text, int line, LoaderError code, String fragment) {
        assertThatThrownBy(() -> parse(text)).isInstanceOfSatisfying(ScriptException.class, e -> {
            assertThat(e.code()).isEqualTo(code.code());
            assertThat(e.line()).isEqualTo(line);
            assertThat(e.file()).isEqualTo(FILE);
            assertThat(e.getMessage()).startsWith(FILE + (line > 0 ? ":" + line + ":" : ":")).contains(fragment);
            assertThat(e.toString()).contains("kern_loader error " + code.code());
        });
    }

    @Test void nextstep10Script() throws Exception {
        ServerScript s = parse("""
                # the MIDI driver
                SERVER_NAME     midi
                RELOC           midi.jar
                ADVERTIZED_PORT midi0
                MAP   midi0 serve 0x10
                INIT  init 010
                FREE  free -1
                PORT_DEATH dead
                WIRE
                """);
        assertThat(s.name()).isEqualTo("midi");
        assertThat(s.reloc()).isEqualTo(Path.of("/srv/x/midi.jar"));
        assertThat(s.ports()).containsExactly(new ServerScript.PortDecl("midi0", true, 4));
        assertThat(s.load()).containsExactly(
                new ScriptCommand.Map("midi0", "serve", new ScriptArg(16, null), 5),
                new ScriptCommand.Call("init", new ScriptArg(8, null), 6),
                new ScriptCommand.PortDeath("dead", 8));
        assertThat(s.unload()).containsExactly(new ScriptCommand.Call("free", new ScriptArg(-1, null), 7));
        assertThat(s.wire()).isTrue();
        assertThat(s.start()).isFalse();
    }

    @Test void nextstep3KeywordsAndSections() throws Exception {
        ServerScript s = parse("""
                SERVER_NAME slot
                RELOC /abs/slot.jar
                CALL        slot_init 0
                PORT_DEATH  slot_port_death
                SMAP        slot0 slot_msg 0
                HMAP        slot2 slot_msg slot_funcs   # symbolic argument
                ADVERTISE   slot0
                START
                DETACH
                UNLOAD_COMMANDS
                CALL        slot_signoff 0
                """);
        assertThat(s.reloc()).isEqualTo(Path.of("/abs/slot.jar"));
        assertThat(s.ports()).extracting(ServerScript.PortDecl::name, ServerScript.PortDecl::advertised)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("slot0", true), org.assertj.core.groups.Tuple.tuple("slot2", false));
        assertThat(s.load().get(0)).isEqualTo(new ScriptCommand.Call("slot_init", ScriptArg.ZERO, 3));
        assertThat(s.load().get(3)).isEqualTo(new ScriptCommand.HandlerMap("slot2", "slot_msg", "slot_funcs", 6));
        assertThat(s.unload()).extracting(ScriptCommand.Call::routine).containsExactly("slot_signoff");
        assertThat(s.start()).isTrue();
        assertThat(s.detach()).isTrue();
    }

    @Test void startOnlyServerNeedsNoPorts() throws Exception {
        assertThat(parse("SERVER_NAME s\nRELOC s.jar\nINIT go\nSTART\n").ports()).isEmpty();
    }

    @Test void unknownKeyword() { fails("SERVER_NAME a\nRELOC a.jar\nMAPP p f 0\n", 3, LoaderError.BAD_RELOCATABLE, "unknown keyword 'MAPP'"); }
    @Test void lowercaseKeywordIsNotACommand() { fails("server_name a\n", 0, LoaderError.NEED_SERVER_NAME, "no SERVER_NAME"); }
    @Test void capitalisedButUnknown() { fails("SERVER_NAME a\nMap p f\n", 2, LoaderError.BAD_RELOCATABLE, "unknown keyword 'Map'"); }
    @Test void tooFewArguments() { fails("SERVER_NAME a\nRELOC a.jar\nMAP p\n", 3, LoaderError.BAD_RELOCATABLE, "MAP takes 2 to 3 arguments, got 1"); }
    @Test void tooManyArguments() { fails("SERVER_NAME a b\n", 1, LoaderError.BAD_RELOCATABLE, "SERVER_NAME takes 1 argument, got 2"); }
    @Test void argumentsToFlag() { fails("SERVER_NAME a\nWIRE now\n", 2, LoaderError.BAD_RELOCATABLE, "WIRE takes 0 arguments"); }
    @Test void badName() { fails("SERVER_NAME a/b\n", 1, LoaderError.BAD_RELOCATABLE, "bad server name"); }
    @Test void badPortName() { fails("SERVER_NAME a\nADVERTIZED_PORT p!\n", 2, LoaderError.BAD_RELOCATABLE, "bad port name"); }
    @Test void badRoutine() { fails("SERVER_NAME a\nINIT 9x\n", 2, LoaderError.BAD_RELOCATABLE, "bad routine name"); }
    @Test void badNumber() { fails("SERVER_NAME a\nINIT f 0x\n", 2, LoaderError.BAD_RELOCATABLE, "bad number '0x'"); }
    @Test void badOctal() { fails("SERVER_NAME a\nINIT f 09\n", 2, LoaderError.BAD_RELOCATABLE, "bad number"); }
    @Test void numberTooBig() { fails("SERVER_NAME a\nINIT f 0x100000000\n", 2, LoaderError.BAD_RELOCATABLE, "bad number"); }
    @Test void badSymbol() { fails("SERVER_NAME a\nINIT f a-b\n", 2, LoaderError.BAD_RELOCATABLE, "bad argument"); }
    @Test void secondName() { fails("SERVER_NAME a\nSERVER_NAME b\n", 2, LoaderError.BAD_RELOCATABLE, "second SERVER_NAME"); }
    @Test void secondReloc() { fails("RELOC a\nRELOC b\n", 2, LoaderError.BAD_RELOCATABLE, "second RELOC"); }
    @Test void secondPortDeath() { fails("PORT_DEATH a\nPORT_DEATH b\n", 2, LoaderError.BAD_RELOCATABLE, "second PORT_DEATH"); }
    @Test void duplicateAdvertisedPort() { fails("SERVER_NAME a\nADVERTIZED_PORT p\nADVERTIZED_PORT p\n", 3, LoaderError.PORT_EXISTS, "already advertised"); }
    @Test void duplicateMap() { fails("SERVER_NAME a\nMAP p f\nSMAP p g 1\n", 3, LoaderError.PORT_EXISTS, "already mapped"); }
    @Test void advertisedWithoutMap() { fails("SERVER_NAME a\nRELOC a.jar\nADVERTIZED_PORT p\nSTART\n", 3, LoaderError.BAD_RELOCATABLE, "port 'p' has no MAP"); }
    @Test void noName() { fails("RELOC a.jar\nMAP p f\n", 0, LoaderError.NEED_SERVER_NAME, "no SERVER_NAME"); }
    @Test void noReloc() { fails("SERVER_NAME a\nMAP p f\n", 0, LoaderError.BAD_RELOCATABLE, "no RELOC"); }
    @Test void nothingToDo() { fails("SERVER_NAME a\nRELOC a.jar\nINIT f\n", 0, LoaderError.BAD_RELOCATABLE, "at least one MAP or START"); }
    @Test void onlyCallsAmongUnloadCommands() { fails("SERVER_NAME a\nUNLOAD_COMMANDS\nMAP p f\n", 3, LoaderError.BAD_RELOCATABLE, "not allowed among unload commands"); }
    @Test void controlCharactersAreShownEscaped() { fails("SERVER_NAME a\nX\u0001\n", 2, LoaderError.BAD_RELOCATABLE, "X\\x01"); }
    @Test void hmapNeedsItsTable() { fails("SERVER_NAME a\nHMAP p h\n", 2, LoaderError.BAD_RELOCATABLE, "HMAP takes 3 arguments, got 2"); }
    @Test void hmapTableIsAField() { fails("SERVER_NAME a\nHMAP p h 0\n", 2, LoaderError.BAD_RELOCATABLE, "names the handler table"); }
    @Test void hmapPortMappedTwice() { fails("SERVER_NAME a\nSMAP p f\nHMAP p h t\n", 3, LoaderError.PORT_EXISTS, "already mapped"); }
    @Test void secondLoadable() { fails("SERVER_NAME a\nLOADABLE x\nLOADABLE y\n", 3, LoaderError.BAD_RELOCATABLE, "second LOADABLE"); }

    @Test void missingJar() {
        assertThatThrownBy(() -> ScriptParser.parse(FILE, "SERVER_NAME a\n\nRELOC gone.jar\nSTART\n", p -> false))
                .isInstanceOfSatisfying(ScriptException.class, e -> {
                    assertThat(e.code()).isEqualTo(110);
                    assertThat(e.line()).isEqualTo(3);
                    assertThat(e.getMessage()).contains("/srv/x/gone.jar");
                });
    }

    @Test void missingScript() {
        assertThatThrownBy(() -> ScriptParser.parse(Path.of("/nonexistent/s.kern_server")))
                .isInstanceOfSatisfying(ScriptException.class, e -> assertThat(e.code()).isEqualTo(110));
    }

    @Test void commentsBlankLinesAndCrLf() throws Exception {
        ServerScript s = parse("# c\r\n\r\nSERVER_NAME a # trailing\r\nRELOC a.jar\r\nMAP p f 0\r\n");
        assertThat(s.name()).isEqualTo("a");
        assertThat(s.load()).hasSize(1);
        assertThat(s.skipped()).isEmpty();
    }

    /** 3.x's parser: a command starts with a capital letter; other lines are skipped, and listed unless blank or comments. */
    @Test void linesThatDoNotStartWithACapitalLetterAreSkipped() throws Exception {
        ServerScript s = parse("""
                SERVER_NAME a
                RELOC a.jar
                  # an indented comment
                	
                  FREE indented 0
                map p f 0
                0x10 stray
                START
                """);
        assertThat(s.load()).isEmpty();
        assertThat(s.unload()).isEmpty();
        assertThat(s.ports()).isEmpty();
        assertThat(s.skipped()).containsExactly(new ServerScript.Skipped(5, "FREE indented 0"),
                new ServerScript.Skipped(6, "map p f 0"), new ServerScript.Skipped(7, "0x10 stray"));
    }

    /** Appendix A's listing: the load commands, then "# unload script:" and the unload commands, one after the other. */
    @Test void nextstep3UnloadScriptAfterTheLoadScript() throws Exception {
        ServerScript s = parse("""
                SERVER_NAME slot
                RELOC       slot.jar
                CALL        slot_init 0
                PORT_DEATH  slot_port_death
                SMAP        slot0 slot_msg 0
                SMAP        slot2 slot_msg 1
                SMAP        slot4 slot_msg 2
                SMAP        slot6 slot_msg 3
                WIRE
                START
                # unload script:
                CALL        slot_signoff 0
                """);
        assertThat(s.load()).filteredOn(c -> c instanceof ScriptCommand.Call).extracting(ScriptCommand::routine).containsExactly("slot_init");
        assertThat(s.unload()).containsExactly(new ScriptCommand.Call("slot_signoff", ScriptArg.ZERO, 12));
        assertThat(s.start()).isTrue();
        assertThat(s.wire()).isTrue();
    }

    @Test void unloadMarkerForms() throws Exception {
        for (String marker : new String[] {"# unload script:", "#Unload commands", "# UNLOAD:", "  # unload sequence", "# unload"}) {
            sections("SERVER_NAME a\nRELOC a.jar\nSTART\nCALL up 1\n" + marker + "\nCALL down 2\nFREE gone\n",
                    java.util.List.of("up"), java.util.List.of("down", "gone"));
        }
    }

    @Test void loadCommandAfterTheUnloadMarkerIsRefused() {
        fails("SERVER_NAME a\nRELOC a.jar\n# unload script:\nCALL down 0\nSMAP p f 0\n", 5, LoaderError.BAD_RELOCATABLE,
                "SMAP is not allowed among unload commands (only CALL and FREE); they begin at line 3 ('# unload script:')");
    }

    /** Parses {@code text} and checks the routines of its load and unload commands. */
    static void sections(String text, java.util.List<String> load, java.util.List<String> unload) throws ScriptException {
        ServerScript s = parse(text);
        assertThat(s.load()).extracting(ScriptCommand::routine).isEqualTo(load);
        assertThat(s.unload()).extracting(ScriptCommand::routine).isEqualTo(unload);
    }

    @Test void loadCommandsSwitchBack() throws Exception {
        sections("SERVER_NAME a\nRELOC a.jar\nUNLOAD_COMMANDS\nCALL down 0\nLOAD_COMMANDS\nCALL up 0\nSTART\n", java.util.List.of("up"), java.util.List.of("down"));
    }

    /** A comment that reads like the unload marker but is not one: a CALL after it would run at load time, so it is refused. */
    @Test void callAfterAnUnloadLookalikeIsRefused() {
        fails("SERVER_NAME a\nRELOC a.jar\nSTART\n# unload: the server signs off\nCALL slot_signoff 0\n", 5, LoaderError.BAD_RELOCATABLE,
                "CALL slot_signoff would run at load time, but follows the comment on line 4");
    }

    @Test void lookalikeFollowedByLoadCommandsIsFine() throws Exception {
        sections("SERVER_NAME a\nRELOC a.jar\n# unloading is done by FREE below\n# unload: see FREE\nLOAD_COMMANDS\nCALL up 0\nFREE down\nSTART\n",
                java.util.List.of("up"), java.util.List.of("down"));
    }

    @Test void commentsThatMerelyMentionUnloadChangeNothing() throws Exception {
        ServerScript s = parse("SERVER_NAME a\nRELOC a.jar\n# start(Kpi) at load, stop(Kpi) at unload\n# unloading: see FREE\nCALL up 0\nSTART\n");
        assertThat(s.load()).extracting(ScriptCommand::routine).containsExactly("up");
    }

    @Test void loadableIsRelativeToTheScript() throws Exception {
        assertThat(parse("SERVER_NAME a\nRELOC a.jar\nLOADABLE dbg/a.loadable\nSTART\n").loadable()).isEqualTo(Path.of("/srv/x/dbg/a.loadable"));
        assertThat(parse("SERVER_NAME a\nRELOC a.jar\nSTART\n").loadable()).isNull();
    }
}
